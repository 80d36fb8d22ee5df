// The V8 inspector of a Worker's isolate under `wrangler dev`: finding it, a Chrome DevTools
// Protocol session to it, and the aggregation of a CPU profile into per-function and
// per-category time. Shared by bench/profile.mjs (`make profile`: where the time goes) and
// bench/run.mjs (`make bench`: in-isolate CPU per request, ours and a peer's, same method).
//
// Knobs read here: PROF_INTERVAL_US (the sampling interval asked for, default 100) and
// PROF_WEIGHT (samples|time, default samples); see bench/profile.mjs's header for why samples.

import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tests/harness/server.mjs';
import { workerPid } from './floors.mjs';
import { tree } from './proc.mjs';

export const INTERVAL_US = Number(process.env.PROF_INTERVAL_US ?? 100);
export const WEIGHT = process.env.PROF_WEIGHT ?? 'samples';

// ---- Chrome DevTools Protocol over WebSocket (Node 22's global WebSocket) ------------------

/** `onEvent(msg)` receives the protocol's events (messages without an id), e.g. heap snapshot chunks. */
export async function cdp(url, { onEvent } = {}) {
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
    if (!msg.id && msg.method) onEvent?.(msg);
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
export function listeningPorts(pid) {
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
export function httpGet(url) {
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
export async function inspector(wrangler) {
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

export function category(cf) {
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
export function bundlePath(url) {
  if (url.startsWith('file://')) return new URL(url);
  if (url !== 'shim.js') return null;
  if (process.env.PROF_SHIM) return process.env.PROF_SHIM;
  const tmp = join(REPO_ROOT, '.wrangler', 'tmp');
  const dirs = readdirSync(tmp).filter((d) => d.startsWith('dev-')).map((d) => join(tmp, d, 'shim.js'));
  return dirs.filter((f) => existsSync(f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] ?? null;
}

export function jsName(cf) {
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

export function fnKey(cf) {
  const file = cf.url ? cf.url.split('/').pop() : '';
  const name = jsName(cf) || (cf.url ? '(anonymous)' : '(anonymous: native entry, no script)');
  return `${name}${file ? ` [${file}${cf.url.startsWith('wasm://') ? '' : `:${cf.lineNumber + 1}`}]` : ''}`;
}

export function analyse(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const total = new Map();
  const cats = new Map();
  let busy = 0;
  let idle = 0;
  // The sampler rarely keeps the asked interval; a sample stands for the median gap between
  // two consecutive busy samples. Not the median of all gaps: while the isolate idles the
  // sampler ticks far slower (gaps of a millisecond and more), so on a mostly idle profile
  // that median weighs each busy sample several times over.
  const idleFn = (i) => {
    const f = byId.get(profile.samples[i])?.callFrame.functionName;
    return f === '(idle)' || f === '(root)' || f === '(program)';
  };
  const busyGaps = [];
  for (let i = 1; i < profile.samples.length; i++) if (!idleFn(i - 1) && !idleFn(i)) busyGaps.push(profile.timeDeltas[i]);
  const gaps = (busyGaps.length >= 20 ? busyGaps : [...profile.timeDeltas]).sort((x, y) => x - y);
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

/**
 * A profiler on the isolate of the Worker served by the `wrangler dev` rooted at `wranglerPid`
 * whose inspector target matches `match` (its name in wrangler.toml). measure(n, one) runs
 * `one(i)` n times in sequence under the sampling profiler and returns the isolate's sampled
 * busy time per call: the in-isolate CPU that Cloudflare bills as CPU time, without wrangler's
 * machinery (its proxy, the local D1/KV simulators), which runs in other isolates or processes.
 */
export async function isolateProfiler(wranglerPid, match) {
  const { list } = await inspector(wranglerPid);
  // wrangler's inspector proxy lists the user Worker alone, as "Cloudflare Worker"; the
  // runtime's own inspector lists every isolate, named after their services.
  const target = list.find((t) => match.test(`${t.title} ${t.url} ${t.id}`)) ?? (list.length === 1 ? list[0] : undefined);
  if (!target) throw new Error(`no inspector target matching ${match} among ${list.map((t) => t.title ?? t.id).join(', ')}`);
  const s = await cdp(target.ws);
  await s.send('Profiler.enable');
  await s.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
  return {
    async measure(n, one) {
      await s.send('Profiler.start');
      for (let i = 0; i < n; i++) await one(i);
      const { profile } = await s.send('Profiler.stop');
      const a = analyse(profile, n);
      return { msPerCall: a.busy / n, busyMs: a.busy, tickUs: a.tick, n, profile };
    },
    close: () => s.close(),
  };
}
