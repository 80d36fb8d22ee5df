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
// Weighting: every sample counts one sampling tick (the median gap). All isolates of the
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

import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, REPO_ROOT } from '../tests/harness/server.mjs';
import { CookieJar, createApp, createUser, loginThroughForm, authorizeUrl, pkcePair } from '../tests/integration/helpers.mjs';
import { workerPid } from './lib/floors.mjs';
import { snapshot, tree } from './lib/proc.mjs';
import { expect } from './lib/load.mjs';

const N = Number(process.env.PROF_N ?? 400);
const INTERVAL_US = Number(process.env.PROF_INTERVAL_US ?? 100);
const CONCURRENCY = Number(process.env.PROF_CONCURRENCY ?? 1);
const TOP = Number(process.env.PROF_TOP ?? 25);
const WEIGHT = process.env.PROF_WEIGHT ?? 'samples';
const REDIRECT = 'https://bench.example/cb';
const ORIGIN = 'https://bench.example';
const OUT = join(REPO_ROOT, 'bench', 'out');
const log = (...a) => console.error('[profile]', ...a);

// ---- Chrome DevTools Protocol over WebSocket (Node 22's global WebSocket) ------------------

async function cdp(url) {
  // The `ws` package (installed with wrangler/miniflare), not Node's global WebSocket: after
  // the many fetch() calls of a run, undici's WebSocket to workerd's inspector never opened.
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', (e) => rej(new Error(`inspector ${url}: ${e.message}`)));
  });
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) {
      const { res, rej } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) rej(new Error(`${msg.error.message} (${msg.error.code})`));
      // workerd answers the Profiler commands itself (it must hold the isolate lock) and
      // acknowledges all but Profiler.stop by echoing the request, without a result.
      else res(msg.result ?? {});
    }
  });
  ws.on('close', () => {
    for (const { rej } of pending.values()) rej(new Error(`inspector ${url} closed`));
    pending.clear();
  });
  return {
    send: (method, params = {}) =>
      new Promise((res, rej) => {
        const mid = ++id;
        pending.set(mid, { res, rej });
        ws.send(JSON.stringify({ id: mid, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** TCP ports `pid` listens on (from /proc: its socket inodes matched in /proc/net/tcp). */
function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':')[1], 16));
  }
  return ports;
}

/**
 * GET on a fresh connection. Not fetch(): its pooled keep-alive connection to workerd's
 * inspector would be reused for the WebSocket upgrade, which then never completes.
 */
function httpGet(url) {
  return new Promise((res, rej) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => (r.statusCode === 200 ? res(body) : rej(new Error(`${url}: ${r.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

/**
 * The inspector of the workerd that runs the Worker. wrangler dev starts it with
 * --inspector-addr=127.0.0.1:0 (a port the runtime picks), so we try the ports that process
 * listens on for the DevTools JSON endpoint.
 */
async function inspector(wrangler) {
  const runtime = workerPid(wrangler);
  const proxies = tree(wrangler).filter((p) => p.comm === 'workerd' && p.pid !== runtime).map((p) => p.pid);
  // wrangler's inspector proxy (in its other workerd) first, unless PROF_VIA=direct: a direct
  // session to the runtime is closed when wrangler's proxy reconnects to it.
  const order = process.env.PROF_VIA === 'direct' ? [runtime] : [...proxies, runtime];
  for (const pid of order) {
    for (const port of listeningPorts(pid)) {
      try {
        const list = JSON.parse(await httpGet(`http://127.0.0.1:${port}/json/list`));
        if (!Array.isArray(list) || !list.length) continue;
        const addr = `127.0.0.1:${port}`;
        return { pid: runtime, via: pid === runtime ? 'direct' : 'proxy', addr, list: list.map((t) => ({ ...t, ws: t.webSocketDebuggerUrl ?? `ws://${addr}/${t.id}` })) };
      } catch {
        /* not an inspector */
      }
    }
  }
  throw new Error(`no DevTools endpoint among the ports of workerd ${order.join(', ')}`);
}

// ---- aggregation ------------------------------------------------------------------------------

function category(cf) {
  const { functionName: fn, url } = cf;
  if (fn === '(program)') return 'runtime: (program) (native, outside JS/Wasm)';
  if (fn === '(garbage collector)') return 'runtime: (garbage collector)';
  if (fn === '(idle)') return 'idle';
  if (fn === '(root)') return 'root';
  // V8's wrappers for calls between Wasm and JS.
  if (fn === 'wasm-to-js' || fn === 'js-to-wasm' || fn.startsWith('js-to-wasm:')) return 'wasm: wasm-bindgen/js-sys glue';
  if (url.startsWith('wasm://')) {
    if (/^(\$?)(__wbg|__wbindgen|__externref|wasm_bindgen::|js_sys::|web_sys::|wasm_bindgen_futures::)/.test(fn)) return 'wasm: wasm-bindgen/js-sys glue';
    if (/^\$?(worker::|worker_sys::)/.test(fn)) return 'wasm: worker crate';
    if (/^\$?(edge_oidc::)/.test(fn)) return 'wasm: edge_oidc (our code)';
    if (/^\$?(serde_json::|serde::|<serde|<&mut serde_json|serde_json)/.test(fn) || fn.includes('serde')) return 'wasm: serde/serde_json';
    if (/(jwt_compact|sha2|base64|chrono|url::|idna|form_urlencoded|percent_encoding)/.test(fn)) return 'wasm: jwt-compact/sha2/base64/url/chrono';
    if (/^\$?(dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|alloc::|<alloc::|core::|<core::|std::|memcpy|memset|memmove|memcmp|<&T|compiler_builtins)/.test(fn)) return 'wasm: core/alloc/std (memcpy, malloc, fmt)';
    return 'wasm: other';
  }
  if (!url && !fn) return 'runtime: native entry (anonymous, no script)';
  if (!url) return 'native builtins / runtime API (fetch, Response, Headers, crypto.subtle, TextDecoder...)';
  if (/shim\.js$/.test(url)) return 'js: bundled shim.js (wasm-bindgen JS glue, worker shim, wrangler middleware)';
  if (/index\.js$|shim\.mjs$/.test(url) && url.includes('build')) return 'js: wasm-bindgen shim (build/index.js, shim.mjs)';
  if (/\.wrangler|middleware|miniflare|wrangler/.test(url)) return 'js: wrangler/miniflare injected';
  if (/^node:|^cloudflare:|^cloudflare-internal:|^workerd:|internal/.test(url)) return 'js: workerd built-in modules';
  return `js: other (${url.split('/').pop()})`;
}

// esbuild minifies wasm-bindgen's JS (build/index.js), so its import functions are anonymous in
// the profile; wrangler's bundle keeps each one's wasm-bindgen import name in a
// `__wbg_x: __name(function (...) {...}, "__wbg_x")` wrapper. Recover it from the source.
const sources = new Map();
/** The bundle wrangler serves (its inspector proxy reports it as plain "shim.js"). */
function bundlePath(url) {
  if (url.startsWith('file://')) return new URL(url);
  if (url !== 'shim.js') return null;
  if (process.env.PROF_SHIM) return process.env.PROF_SHIM;
  const tmp = join(REPO_ROOT, '.wrangler', 'tmp');
  const dirs = readdirSync(tmp).filter((d) => d.startsWith('dev-')).map((d) => join(tmp, d, 'shim.js'));
  return dirs.filter((f) => existsSync(f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] ?? null;
}

function jsName(cf) {
  if (cf.functionName || !cf.url || cf.url.startsWith('wasm://')) return cf.functionName;
  try {
    if (!sources.has(cf.url)) {
      const file = bundlePath(cf.url);
      sources.set(cf.url, file ? readFileSync(file, 'utf8').split('\n') : []);
    }
    const before = (sources.get(cf.url)[cf.lineNumber] ?? '').slice(0, cf.columnNumber);
    const m = /([\w$]+)\s*:\s*(?:\/\*[^*]*\*\/\s*)?__name\(\s*(?:async\s*)?(?:function)?\s*$/.exec(before);
    return m ? m[1] : '';
  } catch {
    return '';
  }
}

function fnKey(cf) {
  const file = cf.url ? cf.url.split('/').pop() : '';
  const name = jsName(cf) || (cf.url ? '(anonymous)' : '(anonymous: native entry, no script)');
  return `${name}${file ? ` [${file}${cf.url.startsWith('wasm://') ? '' : `:${cf.lineNumber + 1}`}]` : ''}`;
}

function analyse(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const total = new Map();
  const cats = new Map();
  let busy = 0;
  let idle = 0;
  // The sampler rarely keeps the asked interval; a sample stands for the median gap.
  const gaps = [...profile.timeDeltas].sort((x, y) => x - y);
  const tick = gaps[Math.floor(gaps.length / 2)] || INTERVAL_US;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; attribute the interval following a sample
    // to it (the next delta), the usual convention.
    // PROF_WEIGHT=samples (default): each sample counts one interval, so time the thread spent
    // descheduled (a busy 2-core machine) does not inflate whatever ran next. =time: the
    // wall-clock gap to the next sample (what DevTools shows).
    const dt = (WEIGHT === 'time' ? profile.timeDeltas[i + 1] ?? tick : tick) / 1000; // ms
    const node = byId.get(profile.samples[i]);
    const cf = node.callFrame;
    if (cf.functionName === '(idle)' || cf.functionName === '(root)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const k = fnKey(cf);
    self.set(k, (self.get(k) ?? 0) + dt);
    const c = category(cf);
    cats.set(c, (cats.get(c) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame;
      if (f.functionName === '(root)') break;
      const key = fnKey(f);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + dt);
    }
  }
  return { self, total, cats, busy, idle, requests, tick };
}

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
