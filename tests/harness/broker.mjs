// Shared servers: one `wrangler dev` per configuration for a whole test run.
//
// The broker lives in the process that runs `node --test` (run.mjs) and owns the servers; each
// test file (its own process under node --test) asks it over loopback HTTP for the server of
// its configuration (vars + log level), which the broker starts on the first request and
// keeps until stopAll() at the end of the run. The answer holds all a file needs to use the
// server on its own: origin, admin token, state directory (for d1Query), and the file the
// broker copies the server's output to (for output()).

import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { REPO_ROOT, d1Query, startServer } from './server.mjs';

/** The configuration a server is shared by: everything that changes how it is started. */
export function configKey({ cwd = process.env.HARNESS_CWD ?? REPO_ROOT, vars = {}, logLevel = 'warn', mail = false } = {}) {
  const sorted = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)]).sort());
  return JSON.stringify({ cwd, logLevel, vars: sorted, mail: Boolean(mail) });
}

/** A short label for reports: `default`, `logLevel=debug`, `REGISTRATION_ENABLED=true`, ... */
export function configLabel(key) {
  const { cwd, logLevel, vars, mail } = JSON.parse(key);
  const parts = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  if (mail) parts.push('mail');
  if (logLevel !== 'warn') parts.push(`logLevel=${logLevel}`);
  if (cwd !== REPO_ROOT) parts.push(`cwd=${relative(REPO_ROOT, cwd) || '.'}`);
  return parts.join(' ') || 'default';
}

const readJson = (req) =>
  new Promise((resolveBody, reject) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      try {
        resolveBody(JSON.parse(body || '{}'));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });

/**
 * Starts the broker on a free loopback port. Returns { url, stopAll(), report() }.
 * A server that failed to start stays failed for the run: the files that share its
 * configuration get the same error at once instead of waiting for another timeout.
 */
export async function startBroker() {
  const outDir = mkdtempSync(join(tmpdir(), 'oidc-it-out-'));
  // Also when a signal ends the run before stopAll() (each server cleans up after itself).
  const removeOutDir = () => rmSync(outDir, { recursive: true, force: true });
  process.on('exit', removeOutDir);
  /** key -> { promise, label, users, startMs, outputFile } */
  const servers = new Map();

  function serverFor(key) {
    let entry = servers.get(key);
    if (entry) return entry;
    const outputFile = join(outDir, `server-${servers.size + 1}.log`);
    writeFileSync(outputFile, '');
    entry = { label: configLabel(key), users: [], outputFile, startMs: undefined };
    const { cwd, vars, logLevel, mail } = JSON.parse(key);
    const t0 = Date.now();
    entry.promise = startServer({
      cwd,
      vars,
      logLevel,
      mail,
      onOutput: (text) => appendFileSync(outputFile, text),
    }).then((handle) => {
      entry.startMs = Date.now() - t0;
      entry.handle = handle;
      return handle;
    });
    entry.promise.catch(() => {});
    servers.set(key, entry);
    return entry;
  }

  const httpServer = http.createServer(async (req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/servers') return reply(404, { error: 'not found' });
    try {
      const { config = {}, file = '?' } = await readJson(req);
      const entry = serverFor(configKey(config));
      entry.users.push(file);
      const h = await entry.promise;
      reply(200, {
        origin: h.origin,
        adminToken: h.adminToken,
        keySecret: h.keySecret,
        stateDir: h.stateDir,
        mailDir: h.mailDir,
        pid: h.pid,
        outputFile: entry.outputFile,
        // What the server printed before this file got it is not this file's business.
        outputOffset: statSync(entry.outputFile).size,
      });
    } catch (err) {
      reply(500, { error: String(err?.stack ?? err) });
    }
  });
  await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
  httpServer.unref();
  const { port } = httpServer.address();

  return {
    url: `http://127.0.0.1:${port}`,
    /** One line per server: its configuration, start time and the files that used it. */
    report() {
      return [...servers.values()].map((e) => {
        const start = e.startMs === undefined ? 'failed to start' : `started in ${(e.startMs / 1000).toFixed(1)} s`;
        return `${e.label}: ${start}, ${e.users.length} file(s): ${e.users.join(' ')}`;
      });
    },
    async stopAll() {
      httpServer.close();
      await Promise.all(
        [...servers.values()].map(async (e) => {
          const h = await e.promise.catch(() => null);
          await h?.stop();
        }),
      );
      process.off('exit', removeOutDir);
      removeOutDir();
    },
  };
}

/** POSTs JSON with node:http (fetch would give up on a slow start after 300 s of no headers). */
function post(url, body) {
  return new Promise((resolvePost, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolvePost({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * From a test file: the broker's server for `config`, as a handle like startServer's.
 * stop() does nothing (the broker stops it at the end of the run); output() is what the
 * server printed since this file got it.
 */
export async function sharedServer(brokerUrl, config, file) {
  const { status, text } = await post(`${brokerUrl}/servers`, { config, file });
  const body = JSON.parse(text);
  if (status !== 200) throw new Error(`shared server (${configLabel(configKey(config))}): ${body.error}`);
  const cwd = config.cwd ?? process.env.HARNESS_CWD ?? REPO_ROOT;
  return {
    origin: body.origin,
    adminToken: body.adminToken,
    keySecret: body.keySecret,
    pid: body.pid,
    stateDir: body.stateDir,
    mailDir: body.mailDir,
    output: () => readFileSync(body.outputFile).subarray(body.outputOffset).toString(),
    d1Query: (sql) => d1Query(body.stateDir, sql, cwd),
    stop: async () => {},
  };
}
