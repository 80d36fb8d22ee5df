// Integration-test harness: runs the Worker under `wrangler dev` (real workerd, local D1 + KV)
// on a free loopback port, with a database in a temporary directory, and stops it again.
//
// Usage in a test file:
//
//   import { useServer } from '../harness/index.mjs';
//   const server = useServer();          // registers before/after hooks
//   test('x', async () => { await fetch(server.origin + '/...') });
//
// One server per test file: node --test runs each file in its own process.
//
// Options: useServer({ vars = {}, logLevel = 'warn', cwd })
// The returned object is filled in by the `before` hook: origin, adminToken, keySecret,
// output() (what the server printed), d1Query(sql) (on the server's own local D1), stateDir,
// pid (of wrangler, the root of its process group).
//
// Environment knobs:
//   HARNESS_ORIGIN            use an already running server (e.g. http://127.0.0.1:8787) instead
//                             of spawning any; HARNESS_ADMIN_TOKEN must then match its ADMIN_TOKEN.
//   HARNESS_CWD               directory holding wrangler.toml and schema.sql (default: repo root).
//   HARNESS_START_TIMEOUT_MS  how long to wait for the first 200 from discovery (default 300000).
//   HARNESS_VERBOSE=1         echo wrangler's output while it runs.
//
// server.mjs holds the wrangler plumbing and startServer(), shared with the bench.

import { before, after } from 'node:test';

import { START_TIMEOUT_MS, startServer } from './server.mjs';

export { REPO_ROOT, freePort, nodeBinary, startServer, wranglerBin, wranglerEnv } from './server.mjs';

/**
 * Registers before/after hooks that start and stop one server for the calling test file.
 * The returned object is filled in by the `before` hook.
 * Node 22 runs a file's top-level `before` hooks concurrently, so other hooks must
 * `await server.ready` before using it.
 */
export function useServer(config = {}) {
  let resolveReady;
  let rejectReady;
  const ready = new Promise((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {}); // reported by the hook itself
  const server = { origin: undefined, adminToken: undefined, output: () => '', ready };
  let handle;
  before(
    async () => {
      try {
        handle = await startServer(config);
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
