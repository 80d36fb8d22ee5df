// Tries the floors and the bare lane: starts each floor Worker in each lane it supports, then
// the provider's bundle on bare workerd (fake D1 seeded with real rows), runs a bounded load
// against each and prints req/s, latency and CPU per request: the whole process tree, its
// workerd processes, and the one workerd that runs the Worker (wrangler dev adds a proxy one).
//
//   node bench/floors/try.mjs [--n 2000] [--concurrency 4] [--rebuild] [--only hello-dev,bare-jwks,...]
//
// --rebuild runs `wrangler deploy --dry-run` (and so the Rust build) even when bench/out/bundle
// already holds a bundle. Set BENCH_VERBOSE=1 to see the servers' output.

import { LANES, KINDS, startFloor, workerPid } from '../lib/floors.mjs';
import { BUNDLE_DIR, bundle, bundleSizes, seedTables, startBare } from '../lib/bare.mjs';
import { runLoad, expect } from '../lib/load.mjs';
import { snapshot, used } from '../lib/proc.mjs';
import { existsSync } from 'node:fs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
}
const N = Number(arg('n', 2000));
const CONCURRENCY = Number(arg('concurrency', 4));
const REBUILD = arg('rebuild', false) === true;
const ONLY = arg('only', null);
const want = (name) => !ONLY || String(ONLY).split(',').includes(name);

const rows = [];

async function measure(name, server, one) {
  const warmup = Math.min(100, Math.ceil(N / 20));
  for (let i = 0; i < warmup; i++) await one();
  const worker = workerPid(server.pid);
  const before = snapshot(server.pid);
  const result = await runLoad({ n: N, concurrency: CONCURRENCY, one });
  const after = snapshot(server.pid);
  const cpu = used(before, after);
  const workerSeconds = (after.get(worker)?.seconds ?? 0) - (before.get(worker)?.seconds ?? 0);
  const row = {
    target: name,
    'req/s': Math.round(result.rps),
    'p50 ms': +result.p50.toFixed(2),
    'p99 ms': +result.p99.toFixed(2),
    'cpu ms/req': +((cpu.total * 1000) / N).toFixed(3),
    'all workerd ms/req': +(((cpu.byComm.workerd ?? 0) * 1000) / N).toFixed(3),
    'worker ms/req': +((workerSeconds * 1000) / N).toFixed(3),
    errors: result.errors,
  };
  if (result.errors) row.firstError = String(result.firstError?.message ?? result.firstError).slice(0, 120);
  rows.push(row);
  console.log(JSON.stringify(row));
}

const get = (url, status = 200, init) => async () => expect(await fetch(url, init), status);

// ---- floors -----------------------------------------------------------------------------
for (const kind of KINDS) {
  for (const lane of LANES[kind]) {
    const name = `${kind}-${lane}`;
    if (!want(name)) continue;
    const server = await startFloor({ kind, lane });
    try {
      await measure(name, server, get(`${server.origin}/`));
    } finally {
      await server.stop();
    }
  }
}

// ---- the provider on bare workerd ---------------------------------------------------------
const bareTargets = ['bare-discovery', 'bare-jwks', 'bare-preflight'];
if (bareTargets.some(want)) {
  const sizes = REBUILD || !existsSync(BUNDLE_DIR) ? await bundle() : await bundleSizes();
  const fmt = (b) => `${(b / 1024).toFixed(1)} KiB`;
  console.log(
    `bundle ${sizes.dir}: ${fmt(sizes.bytes)}, gzip -9 ${fmt(sizes.gzipBytes)} ` +
      `(${sizes.files.map((f) => `${f.name} ${fmt(f.bytes)}/${fmt(f.gzipBytes)}`).join(', ')})` +
      (sizes.wrangler ? `; wrangler says ${sizes.wrangler.kib} KiB / gzip ${sizes.wrangler.gzipKib} KiB` : ''),
  );
  const seed = await seedTables();
  console.log(
    `seeded: ${Object.entries(seed.tables).map(([t, r]) => `${t} ${r.length}`).join(', ')}`,
  );
  const server = await startBare({
    vars: { ...seed.vars, ISSUER: 'https://id.example.com' },
    d1Tables: seed.tables,
  });
  try {
    const preflight = {
      method: 'OPTIONS',
      headers: { Origin: seed.corsOrigin, 'Access-Control-Request-Method': 'POST' },
    };
    // The preflight must really be allowed (the fake D1 found the application).
    const check = await fetch(`${server.origin}/token`, preflight);
    await check.arrayBuffer();
    if (check.headers.get('access-control-allow-origin') !== seed.corsOrigin) {
      throw new Error(`preflight not allowed on bare workerd: ${check.status} ${JSON.stringify([...check.headers])}`);
    }
    const targets = {
      'bare-discovery': get(`${server.origin}/.well-known/openid-configuration`),
      'bare-jwks': get(`${server.origin}/.well-known/jwks.json`),
      'bare-preflight': get(`${server.origin}/token`, 204, preflight),
    };
    for (const name of bareTargets) if (want(name)) await measure(name, server, targets[name]);
  } finally {
    await server.stop();
  }
}

console.log(
  `\n${N} requests each, concurrency ${CONCURRENCY}. cpu: the server's whole process tree; ` +
    'all workerd: its workerd processes; worker: the workerd running the Worker',
);
console.table(rows.map(({ firstError, ...r }) => r));
