// Integration-test harness: runs the Worker under `wrangler dev` (real workerd, local D1 + KV)
// on a free loopback port, with a database in a temporary directory, and stops it again.
//
// Usage in a test file:
//
//   import { useServer } from '../harness/index.mjs';
//   const server = useServer();          // registers before/after hooks
//   test('x', async () => { await fetch(server.origin + '/...') });
//
// One server per configuration, shared by the test files of a run: `make integration` runs
// the files through run.mjs, which starts a broker (broker.mjs) that starts one `wrangler dev`
// per distinct configuration (the `vars` and `logLevel` a file passes) on first use, hands it
// to every file with that configuration, and stops them all at the end. Files run one at a
// time, but they share a database: a test must not assume it is alone in it (create its own
// applications and users, use unique names, filter by what it created).
//
// A file that needs a database of its own (it drops a table, or checks what happens on first
// use) passes `{ isolated: true }`: it always starts (and stops) its own server, as does any
// file run without run.mjs (`node --test tests/integration/flow.test.mjs`).
//
// Options: useServer({ vars = {}, logLevel = 'warn', isolated = false, cwd, mail = false })
// The returned object is filled in by the `before` hook: origin, adminToken, keySecret,
// output() (what the server printed; for a shared one, since this file got it), d1Query(sql)
// (on the server's own local D1), stateDir, pid (of wrangler, the root of its process group),
// and with `mail` mailDir: the server's mail goes to a local sink (scripts/mail-sink.mjs)
// that keeps it there (read it with readMail in tests/integration/helpers.mjs).
//
// Environment knobs:
//   HARNESS_ORIGIN            use an already running server (e.g. http://127.0.0.1:8787) instead
//                             of spawning any; HARNESS_ADMIN_TOKEN must then match its ADMIN_TOKEN.
//   HARNESS_CWD               directory holding wrangler.toml and migrations/ (default: repo root).
//   HARNESS_START_TIMEOUT_MS  how long to wait for the first 200 from discovery (default 300000).
//   HARNESS_VERBOSE=1         echo wrangler's output while it runs.
//   HARNESS_SHARE=0           run.mjs starts no broker: every file starts its own server.
//   HARNESS_BROKER            set by run.mjs for the test processes (the broker's URL).
//
// server.mjs holds the wrangler plumbing and startServer(), shared with the bench; its
// applyMigrations(stateDir), applySqlFile(stateDir, file) and d1Query(stateDir, sql) work on a
// local D1 in any directory, with or without a server on it, and startServer() also takes
// `prepare`, `stateDir`, `adminToken` and `keySecret`, to start a server on a database made
// another way or left by an earlier server (migrations.test.mjs).

import { basename } from 'node:path';
import { before, after } from 'node:test';

import { sharedServer } from './broker.mjs';
import { START_TIMEOUT_MS, startServer } from './server.mjs';

export {
  REPO_ROOT,
  applyMigrations,
  applySqlFile,
  d1Query,
  freePort,
  nodeBinary,
  startServer,
  wranglerBin,
  wranglerEnv,
} from './server.mjs';

/**
 * Registers before/after hooks that get a server for the calling test file: the run's shared
 * one for its configuration, or (isolated, or no broker) one of its own, stopped after the file.
 * Node 22 runs a file's top-level `before` hooks concurrently, so other hooks must
 * `await server.ready` before using it.
 */
export function useServer({ isolated = false, ...config } = {}) {
  let resolveReady;
  let rejectReady;
  const ready = new Promise((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {}); // reported by the hook itself
  const server = { origin: undefined, adminToken: undefined, output: () => '', ready };
  const broker = process.env.HARNESS_ORIGIN ? undefined : process.env.HARNESS_BROKER;
  const file = basename(process.argv[1] ?? '?');
  let handle;
  before(
    async () => {
      try {
        handle = broker && !isolated ? await sharedServer(broker, config, file) : await startServer(config);
      } catch (err) {
        rejectReady(err);
        throw err;
      }
      Object.assign(server, handle);
      resolveReady(server);
    },
    { timeout: START_TIMEOUT_MS + 120_000 },
  );
  after(async () => {
    if (handle) await handle.stop();
  });
  return server;
}
