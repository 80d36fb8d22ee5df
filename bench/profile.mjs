// CPU profile of the Worker's own isolate under `wrangler dev` (local D1 + KV), per request type.
//
//   node bench/profile.mjs [token|authorize|userinfo ...]      (default: all three)
//   node bench/profile.mjs --analyse bench/out/token.cpuprofile:300 ...   (re-report saved ones)
//
// Starts the provider with the integration harness (tests/harness/server.mjs), seeds an
// application and a user, logs in, warms the isolate (100 flows), then per request type: one
// unprofiled run of PROF_N requests (workerd CPU/request from /proc), then a profiled one:
// Chrome DevTools Protocol to wrangler's inspector proxy (found among the ports of wrangler's
// proxy workerd; a direct session to the runtime workerd's --inspector-addr is closed when the
// proxy reconnects), Profiler.setSamplingInterval + start, PROF_N requests, Profiler.stop.
// Writes bench/out/<what>.cpuprofile (Chrome DevTools > Performance, or speedscope) and
// bench/out/profile.md: self and total time per function and per category.
//
// Weighting: every sample counts one sampling tick (the median gap between consecutive busy
// samples: the sampler ticks slower while the isolate idles). All isolates of the
// runtime (ours, miniflare's D1/KV simulators, the assets router, the entry worker) share one
// thread, and while another one runs ours records nothing or "(idle)"; DevTools' own
// time-weighting (PROF_WEIGHT=time) charges those gaps, and descheduling on a busy machine, to
// whatever our isolate ran next, which overstates it (more "busy" ms than the process's CPU).
//
// Rust names: `make profile` sets WASM_NAMES=1, which makes scripts/build.sh keep the Wasm
// "name" section (no symbol stripping, `wasm-opt -g`). Minified wasm-bindgen imports
// are named from wrangler's bundle (.wrangler/tmp/dev-*/shim.js, or PROF_SHIM=path).
//
// Knobs: PROF_N (requests per type, default 400), PROF_INTERVAL_US (default 100),
// PROF_CONCURRENCY (default 1), PROF_TOP (rows, default 25), PROF_WEIGHT (samples|time),
// PROF_VIA=direct (the runtime's own inspector), PROF_ALL_ISOLATES=1 (with PROF_VIA=direct:
// every isolate of the runtime, e.g. d1:db, kv:ns, assets:router).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, REPO_ROOT } from '../tests/harness/server.mjs';
import { CookieJar, createApp, createUser, loginThroughForm, authorizeUrl, pkcePair } from '../tests/integration/helpers.mjs';
import { snapshot } from './lib/proc.mjs';
import { INTERVAL_US, WEIGHT, analyse, cdp, inspector } from './lib/inspector.mjs';
import { expect } from './lib/load.mjs';

// Measure the Worker that ships: without the tests' conformance suite (scripts/build.sh).
process.env.EDGE_OIDC_FEATURES = '';

const N = Number(process.env.PROF_N ?? 400);
const CONCURRENCY = Number(process.env.PROF_CONCURRENCY ?? 1);
const TOP = Number(process.env.PROF_TOP ?? 25);
const REDIRECT = 'https://bench.example/cb';
const ORIGIN = 'https://bench.example';
const OUT = join(REPO_ROOT, 'bench', 'out');
const log = (...a) => console.error('[profile]', ...a);

function report(what, a, extra) {
  const pct = (x) => ((100 * x) / a.busy).toFixed(1).padStart(5);
  const perReq = (x) => (x / a.requests).toFixed(3).padStart(7);
  const lines = [];
  lines.push(`\n### ${what}: ${a.requests} requests, ${a.busy.toFixed(0)} ms sampled busy (weight: ${WEIGHT}, one sample = ${a.tick} µs) in the isolate (${(a.busy / a.requests).toFixed(2)} ms/request), ${extra}`);
  lines.push('\ncategory | % of sampled busy | ms/request');
  lines.push('--- | ---: | ---:');
  for (const [c, t] of [...a.cats].sort((x, y) => y[1] - x[1])) lines.push(`${c} | ${pct(t)} | ${perReq(t)}`);
  lines.push(`\ntop ${TOP} by self time | self % | self ms/req | total %`);
  lines.push('--- | ---: | ---: | ---:');
  for (const [k, t] of [...a.self].sort((x, y) => y[1] - x[1]).slice(0, TOP)) {
    lines.push(`${k} | ${pct(t)} | ${perReq(t)} | ${pct(a.total.get(k) ?? 0)}`);
  }
  lines.push(`\ntop ${TOP} by total (inclusive) time | total % | total ms/req`);
  lines.push('--- | ---: | ---:');
  for (const [k, t] of [...a.total].sort((x, y) => y[1] - x[1]).slice(0, TOP)) lines.push(`${k} | ${pct(t)} | ${perReq(t)}`);
  const text = lines.join('\n');
  console.log(text);
  return text;
}

// ---- the requests (as bench/run.mjs drives them) ----------------------------------------------

async function setup(server) {
  const app = await createApp(server, { name: 'Bench SPA', type: 'spa', redirect_uris: [REDIRECT], allowed_origins: [ORIGIN] });
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
    const res = await fetch(url, { headers: { cookie }, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    await res.arrayBuffer();
    if (res.status !== 302) throw new Error(`authorize: ${res.status}`);
    const code = new URL(res.headers.get('location')).searchParams.get('code');
    if (!code) throw new Error(`no code: ${res.headers.get('location')}`);
    return { code, verifier };
  };
  const exchange = async ({ code, verifier }) => {
    const res = await fetch(`${server.origin}/token`, {
      method: 'POST',
      signal: AbortSignal.timeout(20_000),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.client_id, code_verifier: verifier }),
    });
    return JSON.parse(await expect(res, 200));
  };
  const userinfo = async (token) => {
    const res = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${token}`, origin: ORIGIN }, signal: AbortSignal.timeout(20_000) });
    await expect(res, 200);
  };
  return { authorize, exchange, userinfo };
}

async function drive(n, one) {
  let i = 0;
  const worker = async () => {
    while (i < n) await one(i++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** `node bench/profile.mjs --analyse FILE.cpuprofile[:requests] ...`: report saved profiles. */
function analyseFiles(files) {
  for (const f of files) {
    const [file, n] = f.split(/:(?=\d+$)/);
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    report(file.split('/').pop(), analyse(profile, Number(n ?? N)), 'from a saved profile');
  }
}

async function main() {
  if (process.argv[2] === '--analyse') return analyseFiles(process.argv.slice(3));
  const which = process.argv.slice(2).length ? process.argv.slice(2) : ['authorize', 'token', 'userinfo'];
  mkdirSync(OUT, { recursive: true });
  log('starting wrangler dev (the [build] command runs first)');
  const server = await startServer({ vars: { STORAGE_METER: 'true' } });
  const out = [];
  try {
    const { authorize, exchange, userinfo } = await setup(server);
    const { pid: wpid, addr, list, via } = await inspector(server.pid);
    log(`runtime workerd pid ${wpid}, inspector ${addr} (${via}); targets:`, JSON.stringify(list.map(({ id, title, url }) => ({ id, title, url }))));
    // The Worker's isolate: wrangler names the user worker's service after wrangler.toml's name.
    const mine = list.find((t) => /edge-oidc/.test(`${t.title} ${t.url} ${t.id}`)) ?? list[0];
    const others = process.env.PROF_ALL_ISOLATES ? list.filter((t) => t !== mine) : [];
    log(`profiling ${mine.title ?? mine.id}${others.length ? ` (+ ${others.map((t) => t.title ?? t.id).join(', ')})` : ''}`);

    log('warming the isolate (100 flows)');
    for (let i = 0; i < 100; i++) {
      const c = await authorize();
      if (i % 10 === 0) log('warm', i);
      const t = await exchange(c);
      await userinfo(t.access_token);
    }
    const access = (await exchange(await authorize())).access_token;

    const plans = {
      authorize: { prepare: async () => null, one: () => authorize() },
      token: {
        prepare: async () => {
          const codes = [];
          for (let i = 0; i < N; i++) codes.push(await authorize());
          return codes;
        },
        one: (i, codes) => exchange(codes[i]),
      },
      userinfo: { prepare: async () => null, one: () => userinfo(access) },
    };

    for (const what of which) {
      const plan = plans[what];
      if (!plan) throw new Error(`unknown request type ${what} (${Object.keys(plans).join(', ')})`);
      // Unprofiled run first, for the CPU the workerd uses per request without the sampler.
      log(`${what}: preparing`);
      const dataPlain = await plan.prepare();
      const data = await plan.prepare();
      const b1 = snapshot(server.pid).get(wpid).seconds;
      const t1 = performance.now();
      await drive(N, (i) => plan.one(i, dataPlain));
      const plainMs = ((snapshot(server.pid).get(wpid).seconds - b1) * 1000) / N;
      const plainWall = (performance.now() - t1) / N;

      log(`${what}: unprofiled ${plainMs.toFixed(2)} ms CPU/request; profiling`);
      const sessions = [];
      for (const t of [mine, ...others]) {
        const s = await cdp(t.ws);
        await s.send('Profiler.enable');
        await s.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
        sessions.push({ t, s });
      }
      for (const { s } of sessions) await s.send('Profiler.start');
      const c0 = snapshot(server.pid).get(wpid).seconds;
      const w0 = performance.now();
      await drive(N, (i) => plan.one(i, data));
      const profMs = ((snapshot(server.pid).get(wpid).seconds - c0) * 1000) / N;
      const profWall = (performance.now() - w0) / N;
      for (const { t, s } of sessions) {
        const { profile } = await s.send('Profiler.stop');
        // No Profiler.disable: workerd does not answer it.
        s.close();
        const tag = t === mine ? what : `${what}.${String(t.title ?? t.id).replace(/[^\w.-]+/g, '_')}`;
        writeFileSync(join(OUT, `${tag}.cpuprofile`), JSON.stringify(profile));
        const a = analyse(profile, N);
        out.push(report(`${tag}${t === mine ? '' : ' (other isolate)'}`, a,
          `runtime workerd CPU ${profMs.toFixed(2)} ms/request while profiling, ${plainMs.toFixed(2)} ms/request without (wall ${profWall.toFixed(2)} / ${plainWall.toFixed(2)} ms)`));
      }
    }
    writeFileSync(join(OUT, 'profile.md'), out.join('\n') + '\n');
    log(`wrote ${join(OUT, 'profile.md')} and the .cpuprofile files`);
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
