// `make bench`: sizes, per-endpoint and per-flow throughput, latency and CPU of the provider
// under `wrangler dev` and (for the stateless endpoints) bare `workerd serve`, the floors of
// both lanes, storage round trips counted by the store layer, cold start, and the two peers,
// all in one run. Prints a table and writes bench/results.md.
//
// Knobs: BENCH_N (requests per endpoint, default 600), BENCH_FLOWS (sequential flows, default
// 150; parallel runs twice as many), BENCH_SKIP_PEERS=1.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { startServer, freePort, REPO_ROOT } from '../tests/harness/server.mjs';
import { CookieJar, createApp, createUser, loginThroughForm, authorizeUrl, pkcePair, request, tokenRequest } from '../tests/integration/helpers.mjs';
import { snapshot, used } from './lib/proc.mjs';
import { runLoad, expect } from './lib/load.mjs';
import { startFloor, workerPid } from './lib/floors.mjs';
import { bundle, startBare } from './lib/bare.mjs';

const N = Number(process.env.BENCH_N ?? 600);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 150);
const PAR = 8;
const REDIRECT = 'https://bench.example/cb';
const ORIGIN = 'https://bench.example';

const rows = []; // { lane, what, rps, p50, p99, cpu, cpuWorkerd, floorRatio, storage }
const notes = [
  'Our flow is three requests (authorize with a session, token, userinfo), as issue 6 defines it; the peers\' flows are two (authorize, token), as their reference figures were taken.',
  'oidc-provider runs in Node, so its CPU is all "node"; it has no workerd column.',
  'workers-oauth-provider: each flow authorizes a new user id, because with the library\'s default (revokeExistingGrants) an authorization revokes the user\'s earlier grants, which breaks flows running in parallel; that default (and its KV list) is kept: 8 KV calls per flow.',
];
const log = (...a) => console.error('[bench]', ...a);

/** Measures `n` calls of `one` at `concurrency` against the server tree rooted at `pid`. */
async function measure(pid, { n, concurrency = 1, one, warmup = 20 }) {
  for (let i = 0; i < warmup; i++) await one(-1 - i);
  // The workerd that runs the Worker (wrangler dev also runs a proxy workerd; node peers none).
  const wp = workerPid(pid);
  const before = snapshot(pid);
  const load = await runLoad({ n, concurrency, one });
  const after = snapshot(pid);
  const cpu = used(before, after);
  if (load.errors) throw new Error(`${load.errors} of ${n} failed: ${load.firstError?.message}`);
  const workerSeconds = wp ? (after.get(wp)?.seconds ?? 0) - (before.get(wp)?.seconds ?? 0) : 0;
  return {
    rps: load.rps,
    p50: load.p50,
    p99: load.p99,
    cpu: (cpu.total * 1000) / n,
    cpuWorkerd: (workerSeconds * 1000) / n,
  };
}

function storageOf(res) {
  const h = res.headers.get('x-storage-calls');
  if (!h) return undefined;
  const m = Object.fromEntries(h.split(';').map((kv) => kv.trim().split('=')).map(([k, v]) => [k, Number(v)]));
  return { d1: m.d1, d1Statements: m.d1_statements, kv: m.kv, total: m.d1 + m.kv };
}

const get = (url, init = {}) => fetch(url, init).then((r) => expect(r, [200, 204]).then(() => r));

// ---- sizes ---------------------------------------------------------------------------------

function wasmSize() {
  const dir = join(REPO_ROOT, 'build');
  const find = (d) => readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.wasm') ? [p] : [];
  });
  const [wasm] = find(dir);
  const bytes = readFileSync(wasm);
  return { path: wasm, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

// ---- the provider under wrangler dev ---------------------------------------------------------

async function providerLane(floors) {
  const server = await startServer({ vars: { STORAGE_METER: 'true' } });
  try {
    const pid = server.pid;
    const app = await createApp(server, {
      name: 'Bench SPA', type: 'spa', redirect_uris: [REDIRECT], allowed_origins: [ORIGIN],
    });
    const user = await createUser(server);
    const jar = new CookieJar();
    const firstUrl = authorizeUrl(server, {
      response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
      code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 's',
    });
    await loginThroughForm(server, firstUrl, { jar, email: user.email, password: user.password });
    const cookie = jar.header();

    const authorize = async (scope = 'openid email') => {
      const { verifier, challenge } = pkcePair();
      const url = authorizeUrl(server, {
        response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope,
        code_challenge: challenge, code_challenge_method: 'S256', state: randomBytes(8).toString('hex'),
      });
      const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status !== 302) throw new Error(`authorize: ${res.status}`);
      const code = new URL(res.headers.get('location')).searchParams.get('code');
      if (!code) throw new Error(`no code: ${res.headers.get('location')}`);
      return { code, verifier, res };
    };
    const exchange = async ({ code, verifier }) => {
      const res = await fetch(`${server.origin}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.client_id, code_verifier: verifier }),
      });
      const json = JSON.parse(await expect(res, 200));
      return { json, res };
    };
    const userinfo = async (token) => {
      const res = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${token}`, origin: ORIGIN } });
      await expect(res, 200);
      return res;
    };
    const refresh = async (token) => {
      const res = await fetch(`${server.origin}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: app.client_id }),
      });
      await expect(res, 200);
      return res;
    };

    // Storage calls per endpoint, from the store layer (X-Storage-Calls), on a warm isolate.
    const storage = {};
    storage.discovery = storageOf(await get(`${server.origin}/.well-known/openid-configuration`));
    await get(`${server.origin}/.well-known/jwks.json`);
    storage.jwks = storageOf(await get(`${server.origin}/.well-known/jwks.json`));
    const preflight = () => get(`${server.origin}/token`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    await preflight();
    storage.preflight = storageOf(await preflight());
    // Each measured on its second call: the first in an isolate also loads signing and
    // verification keys (once per isolate and minute), which is not the steady state.
    await userinfo((await exchange(await authorize())).json.access_token);
    const a = await authorize();
    storage.authorize = storageOf(a.res);
    const t = await exchange(a);
    storage.token = storageOf(t.res);
    storage.userinfo = storageOf(await userinfo(t.json.access_token));
    await refresh((await exchange(await authorize('openid offline_access'))).json.refresh_token);
    const r0 = await authorize('openid offline_access');
    const t0 = await exchange(r0);
    storage.refresh = storageOf(await refresh(t0.json.refresh_token));
    storage.flow = {
      d1: storage.authorize.d1 + storage.token.d1 + storage.userinfo.d1,
      kv: storage.authorize.kv + storage.token.kv + storage.userinfo.kv,
    };
    storage.flow.total = storage.flow.d1 + storage.flow.kv;

    // Warm the isolate (see bareLane): every endpoint's code paths, before any is measured.
    for (let i = 0; i < 100; i++) {
      await get(`${server.origin}/.well-known/openid-configuration`);
      await get(`${server.origin}/.well-known/jwks.json`);
      await preflight();
      const w = await exchange(await authorize());
      await userinfo(w.json.access_token);
    }
    const lane = 'wrangler dev';
    const floor = floors.devHello;
    const add = (what, m, extra = {}) => rows.push({ lane, what, ...m, floorRatio: m.cpu / floor.cpu, ...extra });

    log('discovery / jwks / preflight / userinfo');
    add('discovery', await measure(pid, { n: N, concurrency: 4, one: () => get(`${server.origin}/.well-known/openid-configuration`) }), { storage: storage.discovery });
    add('JWKS', await measure(pid, { n: N, concurrency: 4, one: () => get(`${server.origin}/.well-known/jwks.json`) }), { storage: storage.jwks });
    add('preflight /token', await measure(pid, { n: N, concurrency: 4, one: preflight }), { storage: storage.preflight });
    add('authorize (session)', await measure(pid, { n: N, concurrency: 4, one: () => authorize() }), { storage: storage.authorize });

    log('code exchange (fresh codes made first, not measured)');
    const codes = [];
    for (let i = 0; i < N + 20; i++) codes.push(await authorize());
    let ci = 0;
    add('code exchange', await measure(pid, { n: N, concurrency: 4, one: () => exchange(codes[ci++]) }), { storage: storage.token });

    const access = t.json.access_token;
    add('userinfo', await measure(pid, { n: N, concurrency: 4, one: () => userinfo(access) }), { storage: storage.userinfo });

    log('refresh (fresh tokens made first, not measured)');
    const nRefresh = Math.min(N, 300);
    const tokens = [];
    for (let i = 0; i < nRefresh + 20; i++) tokens.push((await exchange(await authorize('openid offline_access'))).json.refresh_token);
    let ri = 0;
    add('refresh', await measure(pid, { n: nRefresh, concurrency: 4, one: () => refresh(tokens[ri++]) }), { storage: storage.refresh });

    log('complete flows');
    const flow = async () => {
      const c = await authorize();
      const tok = await exchange(c);
      await userinfo(tok.json.access_token);
    };
    const seq = await measure(pid, { n: FLOWS, concurrency: 1, one: flow, warmup: 5 });
    const par = await measure(pid, { n: FLOWS * 2, concurrency: PAR, one: flow, warmup: 5 });
    const flowFloor = floor.cpu * 3;
    rows.push({ lane, what: 'flow, sequential', ...seq, floorRatio: seq.cpu / flowFloor, storage: storage.flow, flow: true });
    rows.push({ lane, what: `flow, ${PAR} parallel`, ...par, floorRatio: par.cpu / flowFloor, storage: storage.flow, flow: true });

    // Rows for the bare lane's fake D1 (the same keys and the bench application).
    const tables = {
      signing_keys: await server.d1Query('SELECT * FROM signing_keys'),
      applications: await server.d1Query('SELECT * FROM applications'),
    };
    return { storage, tables, keySecret: server.keySecret, seq, par };
  } finally {
    await server.stop();
  }
}

// ---- the provider on bare workerd -------------------------------------------------------------

async function bareLane(floors, tables, keySecret) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const srv = await startBare({ port, vars: { KEY_ENCRYPTION_SECRET: keySecret, ISSUER: `http://127.0.0.1:${port}` }, d1Tables: tables });
  try {
    // Cold start: the first response from the fresh isolate, and from process spawn.
    const c0 = process.hrtime.bigint();
    await get(`${srv.origin}/.well-known/openid-configuration`);
    const firstMs = Number(process.hrtime.bigint() - c0) / 1e6;
    const spawnMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // Warm the isolate first: V8 tiers the Wasm up (an optimizing compile of the whole
    // module) during the first few hundred requests, and that CPU would land on whichever
    // endpoint is measured first.
    for (let i = 0; i < 300; i++) {
      await get(`${srv.origin}/.well-known/openid-configuration`);
      await get(`${srv.origin}/.well-known/jwks.json`);
      await get(`${srv.origin}/token`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    }
    const lane = 'bare workerd';
    const floor = floors.bareHello;
    const add = (what, m) => rows.push({ lane, what, ...m, floorRatio: m.cpu / floor.cpu });
    add('discovery', await measure(srv.pid, { n: N * 3, concurrency: 4, one: () => get(`${srv.origin}/.well-known/openid-configuration`) }));
    add('JWKS', await measure(srv.pid, { n: N * 3, concurrency: 4, one: () => get(`${srv.origin}/.well-known/jwks.json`) }));
    add('preflight /token', await measure(srv.pid, {
      n: N * 3,
      concurrency: 4,
      one: () => get(`${srv.origin}/token`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } }).then((r) => {
        if (r.headers.get('access-control-allow-origin') !== ORIGIN) throw new Error('preflight not allowed');
      }),
    }));
    return { firstMs, spawnMs };
  } finally {
    await srv.stop();
  }
}

// ---- floors -----------------------------------------------------------------------------------

async function floorLane() {
  const out = {};
  for (const [key, kind, lane] of [['devHello', 'hello', 'dev'], ['devKv', 'kv', 'dev'], ['devD1', 'd1', 'dev'], ['bareHello', 'hello', 'bare']]) {
    const port = await freePort();
    const f = await startFloor({ kind, lane, port });
    try {
      const n = lane === 'bare' ? N * 3 : N;
      const m = await measure(f.pid, { n, concurrency: 4, one: () => get(`${f.origin}/`) });
      out[key] = m;
      rows.push({ lane: lane === 'dev' ? 'wrangler dev' : 'bare workerd', what: `floor: ${kind}`, ...m, floorRatio: 1, floor: true });
    } finally {
      await f.stop();
    }
  }
  for (const r of rows.filter((r) => r.floor && r.lane === 'wrangler dev')) r.floorRatio = r.cpu / out.devHello.cpu;
  return out;
}

// ---- peers ------------------------------------------------------------------------------------

async function peerLane() {
  const out = [];
  for (const dir of ['workers-oauth-provider', 'oidc-provider']) {
    const peer = await import(`./peers/${dir}/peer.mjs`);
    await peer.install();
    const port = await freePort();
    const srv = await peer.start({ port });
    try {
      const ctx = await peer.prepare(srv);
      const seq = await measure(srv.pid, { n: FLOWS, concurrency: 1, one: () => peer.flow(ctx), warmup: 5 });
      const par = await measure(srv.pid, { n: FLOWS * 2, concurrency: PAR, one: () => peer.flow(ctx), warmup: 5 });
      out.push({ name: peer.name, dir, seq, par });
      rows.push({ lane: peer.name, what: 'flow, sequential', ...seq, flow: true, peer: true });
      rows.push({ lane: peer.name, what: `flow, ${PAR} parallel`, ...par, flow: true, peer: true });
    } finally {
      await srv.stop();
    }
  }
  return out;
}

// ---- report -----------------------------------------------------------------------------------

const f1 = (x) => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(1));
const f2 = (x) => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(2));

function table(headers, body) {
  const lines = [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
  for (const r of body) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

async function main() {
  const started = new Date();
  log('sizes');
  const wasm = wasmSize();
  const b = await bundle();
  log('floors');
  const floors = await floorLane();
  log('provider under wrangler dev');
  const dev = await providerLane(floors);
  log('provider on bare workerd');
  const bare = await bareLane(floors, dev.tables, dev.keySecret);
  let peers = [];
  if (!process.env.BENCH_SKIP_PEERS) {
    log('peers');
    peers = await peerLane();
  }

  const targets = [];
  const target = (what, ok, detail) => targets.push([what, ok ? 'PASS' : 'FAIL', detail]);
  for (const what of ['discovery', 'JWKS', 'preflight /token']) {
    const r = rows.find((x) => x.lane === 'bare workerd' && x.what === what);
    target(`${what}: CPU/request on bare workerd <= 1.3x the bare floor`, r.floorRatio <= 1.3, `${f2(r.cpu)} ms = ${f2(r.floorRatio)}x`);
  }
  const wop = peers.find((p) => p.dir === 'workers-oauth-provider');
  if (wop) {
    target('flows/s sequential >= 2x workers-oauth-provider', dev.seq.rps >= 2 * wop.seq.rps, `${f1(dev.seq.rps)} vs ${f1(wop.seq.rps)} (${f2(dev.seq.rps / wop.seq.rps)}x)`);
    target(`flows/s ${PAR} parallel >= 2x workers-oauth-provider`, dev.par.rps >= 2 * wop.par.rps, `${f1(dev.par.rps)} vs ${f1(wop.par.rps)} (${f2(dev.par.rps / wop.par.rps)}x)`);
    target('CPU per flow in the Worker\'s workerd <= 1/3 of workers-oauth-provider', dev.seq.cpuWorkerd * 3 <= wop.seq.cpuWorkerd, `${f2(dev.seq.cpuWorkerd)} vs ${f2(wop.seq.cpuWorkerd)} ms (${f2(dev.seq.cpuWorkerd / wop.seq.cpuWorkerd)}x)`);
  }
  const s = dev.storage;
  const trips = (x) => x.d1 + x.kv;
  target('storage round trips: discovery, JWKS, preflight = 0', trips(s.discovery) + trips(s.jwks) + trips(s.preflight) === 0, `${trips(s.discovery)}, ${trips(s.jwks)}, ${trips(s.preflight)}`);
  target('authorize with a session <= 2', trips(s.authorize) <= 2, `${trips(s.authorize)} (D1 ${s.authorize.d1}, KV ${s.authorize.kv})`);
  target('token exchange <= 2', trips(s.token) <= 2, `${trips(s.token)} (D1 ${s.token.d1}, ${s.token.d1Statements} statements)`);
  target('userinfo <= 1', trips(s.userinfo) <= 1, `${trips(s.userinfo)}`);
  target('a whole flow <= 4', s.flow.total <= 4, `${s.flow.total} (D1 ${s.flow.d1}, KV ${s.flow.kv}); workers-oauth-provider: 8 KV calls`);
  target('Wasm <= 1 MB raw', wasm.raw <= 1024 * 1024, `${(wasm.raw / 1024).toFixed(0)} KB`);
  target('Wasm <= 350 KB gzip', wasm.gzip <= 350 * 1024, `${(wasm.gzip / 1024).toFixed(0)} KB`);

  const md = [];
  md.push(`# Benchmark results\n`);
  md.push(`Run ${started.toISOString()} by \`make bench\` on ${process.env.BENCH_MACHINE ?? 'this machine'} (2 cores, loopback). ` +
    `${N} requests per endpoint (concurrency 4), ${FLOWS} sequential flows and ${FLOWS * 2} with ${PAR} in parallel. ` +
    'CPU is utime+stime of every process of the server (wrangler, its proxy, workerd) from /proc, per request; ' +
    '"in workerd" is the part spent in the workerd that runs the Worker (not wrangler\'s proxy workerd). Ratios are to the hello-world floor of the same lane (a flow: three requests\' floors). ' +
    'Figures move by about ±10% (CPU) and ±25% (req/s, latency) between runs: compare ratios within one run.\n');
  md.push('## Targets\n');
  md.push(table(['target', 'result', 'measured'], targets));
  md.push('\n## Sizes\n');
  md.push(table(['artifact', 'raw', 'gzip -9'], [
    ['Wasm (`build/`)', `${(wasm.raw / 1024).toFixed(0)} KB`, `${(wasm.gzip / 1024).toFixed(0)} KB`],
    ['bundle `wrangler deploy` uploads', `${(b.bytes / 1024).toFixed(0)} KB`, `${(b.gzipBytes / 1024).toFixed(0)} KB`],
  ]));
  md.push('\n## Throughput, latency, CPU, storage\n');
  const storageCell = (r) => {
    if (!r.storage) return '';
    const st = r.storage.d1Statements !== undefined && r.storage.d1Statements !== r.storage.d1 ? ` (${r.storage.d1Statements} statements)` : '';
    return `${r.storage.d1} + ${r.storage.kv}${st}`;
  };
  md.push(table(['lane', 'what', 'req/s (flows/s)', 'p50 ms', 'p99 ms', 'CPU ms', 'in workerd', 'x floor', 'storage (D1 + KV)'],
    rows.map((r) => [r.lane, r.what, f1(r.rps), f1(r.p50), f1(r.p99), f2(r.cpu), f2(r.cpuWorkerd), r.peer ? '' : f2(r.floorRatio), storageCell(r)])));
  if (peers.length) {
    md.push('\n## Against the peers (same run)\n');
    md.push(table(['peer', 'flows/s seq (ours / theirs)', `flows/s ${PAR} parallel`, 'CPU/flow total', 'CPU/flow in workerd or node'],
      peers.map((p) => {
        const mainComm = p.dir === 'oidc-provider' ? 'node' : 'workerd';
        return [p.name, `${f2(dev.seq.rps / p.seq.rps)}x (${f1(dev.seq.rps)} / ${f1(p.seq.rps)})`, `${f2(dev.par.rps / p.par.rps)}x (${f1(dev.par.rps)} / ${f1(p.par.rps)})`,
          `${f2(dev.seq.cpu)} / ${f2(p.seq.cpu)} ms`, mainComm === 'workerd' ? `${f2(dev.seq.cpuWorkerd)} / ${f2(p.seq.cpuWorkerd)} ms` : `— / ${f2(p.seq.cpu)} ms (all node)`];
      })));
  }
  md.push('\n## Cold start\n');
  md.push(`Bare workerd: ${f1(bare.spawnMs)} ms from spawning \`workerd serve\` to the first response; the first request itself took ${f1(bare.firstMs)} ms.\n`);
  for (const n of notes) md.push(`- ${n}`);
  const text = md.join('\n') + '\n';
  writeFileSync(join(REPO_ROOT, 'bench', 'results.md'), text);
  console.log(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
