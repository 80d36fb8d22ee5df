#!/usr/bin/env node
// A tiny static server for the example SPA (no dependencies): serves index.html (also for
// "/" with any query, which is where the provider redirects back to), app.js, style.css, and
// /oauth4webapi.js from node_modules. Anything else is a 404.
//
//   node examples/spa/serve.mjs --port 8788 [--host 127.0.0.1]
//
// or from a script:  const { origin, close } = await startSpaServer({ port: 8788 });

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The ESM build of oauth4webapi: the repo's node_modules, else wherever Node resolves it. */
export function oauth4webapiPath() {
  const local = resolve(HERE, '..', '..', 'node_modules', 'oauth4webapi', 'build', 'index.js');
  if (existsSync(local)) return local;
  try {
    return createRequire(import.meta.url).resolve('oauth4webapi');
  } catch {
    throw new Error('oauth4webapi is not installed: run `npm install` at the repository root');
  }
}

const JS = 'text/javascript; charset=utf-8';
function routes() {
  return {
    '/': [join(HERE, 'index.html'), 'text/html; charset=utf-8'],
    '/index.html': [join(HERE, 'index.html'), 'text/html; charset=utf-8'],
    '/app.js': [join(HERE, 'app.js'), JS],
    '/style.css': [join(HERE, 'style.css'), 'text/css; charset=utf-8'],
    '/oauth4webapi.js': [oauth4webapiPath(), JS],
  };
}

// The page loads only its own files; fetch() may go to any http(s) origin (the provider is
// chosen at run time). The authorization code arrives in the URL: no Referer, no framing.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/**
 * Starts the server on host:port (port 0: any free one). Resolves with
 * { origin, port, close() } once it listens.
 */
export async function startSpaServer({ port = 8788, host = '127.0.0.1' } = {}) {
  const table = routes();
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    const route = Object.hasOwn(table, pathname) ? table[pathname] : undefined;
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(route ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end(route ? 'Method Not Allowed\n' : 'Not Found\n');
      return;
    }
    try {
      const body = await readFile(route[0]);
      res.writeHead(200, { 'content-type': route[1], 'content-length': body.length, ...SECURITY_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${err.message}\n`);
    }
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const actual = server.address().port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    origin: `http://${hostPart}:${actual}`,
    port: actual,
    close: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections?.();
        server.close(() => resolveClose());
      }),
  };
}

// Run directly: node examples/spa/serve.mjs --port 8788
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '8788' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: not a port number: ${values.port}`);
    process.exit(2);
  }
  const { origin } = await startSpaServer({ port, host: values.host });
  console.log(`Example SPA on ${origin}/`);
  console.log(`  redirect URI    ${origin}/`);
  console.log(`  allowed origin  ${origin}`);
  console.log(`Open ${origin}/?issuer=<provider origin>&client_id=<client id>`);
}
