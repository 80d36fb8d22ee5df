// Floor Workers (bench/floors/): what a request costs before the provider does anything.
//
//   startFloor({ kind, lane, port }) -> { origin, pid, stop }
//     kind  'hello' (answers "ok"), 'kv' (one KV get), 'd1' (one D1 `SELECT 1`)
//     lane  'dev'  wrangler dev with local bindings in a temporary --persist-to directory
//           'bare' `workerd serve` with a generated config (hello only: no bindings)
//
// Each server runs in its own detached process group; `pid` is the root of that tree (the
// wrangler node process, or workerd itself), so bench/lib/proc.mjs can add up its CPU over all
// descendants. `stop()` kills the group and waits for it. workerPid(pid) finds, in that tree,
// the workerd that runs the Worker itself (wrangler dev runs a second one as its entry proxy).
//
// The process helpers below (spawnGroup, waitFor, freePort, ...) are shared with bare.mjs.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tree } from './proc.mjs';

// The wrangler plumbing is the test harness's, so bench and tests start servers alike.
export { nodeBinary, wranglerBin, wranglerEnv, freePort } from '../../tests/harness/server.mjs';
import { freePort, nodeBinary, wranglerBin, wranglerEnv } from '../../tests/harness/server.mjs';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FLOORS_DIR = join(REPO_ROOT, 'bench', 'floors');
export const KINDS = ['hello', 'kv', 'd1'];
/** The lanes each floor supports. */
export const LANES = { hello: ['dev', 'bare'], kv: ['dev'], d1: ['dev'] };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The workerd binary wrangler itself runs (same version as under wrangler dev). */
export function workerdBin() {
  const candidates = [
    join(REPO_ROOT, 'node_modules', '@cloudflare', 'workerd-linux-64', 'bin', 'workerd'),
    join(REPO_ROOT, 'node_modules', 'workerd', 'bin', 'workerd'),
  ];
  const bin = candidates.find((p) => existsSync(p));
  if (!bin) throw new Error(`workerd binary not found (looked at ${candidates.join(', ')})`);
  return bin;
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** Runs a command to completion; resolves with its output, rejects with it on failure. */
export function run(cmd, args, { cwd = REPO_ROOT, env = wranglerEnv() } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d) => (out += stripAnsi(String(d)));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', rej);
    child.on('exit', (code, signal) => {
      if (code === 0) res(out);
      else rej(new Error(`${[cmd, ...args].join(' ')} failed (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

// Live process groups, killed if this process exits or is interrupted (they are detached, so
// a Ctrl-C would not reach them otherwise).
const live = new Set();
function killAll() {
  for (const g of live) g.kill('SIGKILL');
}
function onSignal(sig) {
  killAll();
  for (const g of live) g.cleanup();
  process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
}
function track(g) {
  if (live.size === 0) {
    process.on('exit', killAll);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.add(g);
}
function untrack(g) {
  live.delete(g);
  if (live.size === 0) {
    process.off('exit', killAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Spawns `cmd args` as the root of a new process group. Returns
 * { pid, child, output(), exited(), stop() }; stop() SIGTERMs the group, SIGKILLs it after 5 s,
 * and removes `tempDirs`.
 */
export function spawnGroup(cmd, args, { cwd = REPO_ROOT, env = wranglerEnv(), tempDirs = [] } = {}) {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  let exited = null;
  const collect = (d) => {
    output += stripAnsi(String(d));
    if (output.length > 400_000) output = output.slice(-200_000);
    if (process.env.BENCH_VERBOSE) process.stderr.write(d);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.on('error', (e) => (exited ??= { error: e }));
  const gone = new Promise((r) => child.on('exit', (code, signal) => r((exited = { code, signal }))));
  const g = {
    kill(sig) {
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* group already empty */
      }
    },
    cleanup() {
      for (const d of tempDirs) {
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          /* best effort */
        }
      }
    },
  };
  track(g);
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      if (!exited) {
        g.kill('SIGTERM');
        const timedOut = await Promise.race([gone.then(() => false), sleep(5000).then(() => true)]);
        if (timedOut) {
          g.kill('SIGKILL');
          await Promise.race([gone, sleep(2000)]);
        }
      }
      // Stragglers (workerd can outlive wrangler for a moment).
      g.kill('SIGKILL');
      for (let i = 0; i < 20 && groupAlive(child.pid); i++) await sleep(100);
      untrack(g);
      await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
    })());
  return { pid: child.pid, child, output: () => output, exited: () => exited, stop };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `url` until it answers `status` (default 200). Fails early if the group's root exits.
 */
export async function waitFor(url, group, { status = 200, timeoutMs = 300_000, init } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (group.exited()) {
      throw new Error(`server exited early (${JSON.stringify(group.exited())}). Output:\n${group.output()}`);
    }
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status === status) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms. Output:\n${group.output()}`);
    }
    await sleep(250);
  }
}

/**
 * The pid of the workerd that runs the Worker, in the tree of `root`. wrangler dev runs two:
 * an entry proxy on the public port and the runtime of the Worker, which alone is given
 * --inspector-addr. On bare workerd it is the only one (the root itself).
 */
export function workerPid(root) {
  const workerds = tree(root).filter((p) => p.comm === 'workerd');
  const cmdline = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return [];
    }
  };
  const runtime = workerds.find((p) => cmdline(p.pid).some((a) => a.startsWith('--inspector-addr')));
  return (runtime ?? workerds[0])?.pid;
}

/** A Cap'n Proto text literal. */
export function capnpText(s) {
  let out = '"';
  for (const ch of String(s)) {
    const c = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** compatibility_date and compatibility_flags of a wrangler.toml (top level only). */
export function compatibility(tomlText) {
  const top = tomlText.split(/^\s*\[/m)[0];
  const date = /^\s*compatibility_date\s*=\s*"([^"]+)"/m.exec(top)?.[1];
  const flagsRaw = /^\s*compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(top)?.[1] ?? '';
  const flags = [...flagsRaw.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  return { date, flags };
}

/**
 * Starts `workerd serve` on a config file written into `dir` (module paths in the config are
 * relative to it). Returns { origin, pid, stop, output }.
 */
export async function serveWorkerd({ dir, config, port, readyPath = '/', readyInit, readyStatus = 200, tempDirs = [] }) {
  const file = join(dir, 'workerd.capnp');
  await writeFile(file, config);
  const origin = `http://127.0.0.1:${port}`;
  const group = spawnGroup(workerdBin(), ['serve', file, '--verbose'], {
    cwd: dir,
    env: { ...process.env, PWD: dir },
    tempDirs,
  });
  try {
    await waitFor(origin + readyPath, group, { status: readyStatus, timeoutMs: 60_000, init: readyInit });
  } catch (e) {
    await group.stop();
    throw e;
  }
  return { origin, pid: group.pid, stop: group.stop, output: group.output };
}

async function startDev(kind, port) {
  const cwd = join(FLOORS_DIR, kind);
  const persist = await mkdtemp(join(tmpdir(), `floor-${kind}-`));
  const inspector = await freePort();
  const group = spawnGroup(
    nodeBinary(),
    [
      wranglerBin(), 'dev',
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--inspector-port', String(inspector),
      '--persist-to', persist,
      '--log-level', 'warn',
      '--show-interactive-dev-session=false',
    ],
    { cwd, tempDirs: [persist] },
  );
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${origin}/`, group);
  } catch (e) {
    await group.stop();
    throw e;
  }
  return { origin, pid: group.pid, stop: group.stop, output: group.output };
}

async function startBareHello(port) {
  const dir = await mkdtemp(join(tmpdir(), 'floor-bare-hello-'));
  await copyFile(join(FLOORS_DIR, 'hello', 'index.js'), join(dir, 'index.js'));
  const compat = compatibility(await readFile(join(FLOORS_DIR, 'hello', 'wrangler.toml'), 'utf8'));
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = ${capnpText(`127.0.0.1:${port}`)}, http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js") ],
  compatibilityDate = ${capnpText(compat.date)},
  compatibilityFlags = [ ${compat.flags.map(capnpText).join(', ')} ],
);
`;
  return serveWorkerd({ dir, config, port, tempDirs: [dir] });
}

/** Starts a floor Worker. See the header. */
export async function startFloor({ kind, lane = 'dev', port } = {}) {
  if (!KINDS.includes(kind)) throw new Error(`unknown floor kind ${kind} (${KINDS.join(', ')})`);
  if (!LANES[kind].includes(lane)) throw new Error(`floor ${kind} has no '${lane}' lane (${LANES[kind].join(', ')})`);
  port ??= await freePort();
  const s = lane === 'dev' ? await startDev(kind, port) : await startBareHello(port);
  return { origin: s.origin, pid: s.pid, stop: s.stop, output: s.output };
}
