// `make soak` (and a section of `make bench`): memory under sustained load (issue 19).
//
// Starts its own `wrangler dev` (the Worker that ships: EDGE_OIDC_FEATURES empty; STORAGE_METER
// on, so every response carries X-Wasm-Memory), creates an application and a user, logs in
// once per client through the form, then runs SOAK_CLIENTS clients in parallel for
// SOAK_SECONDS, each looping: authorize with its session, code exchange with offline_access,
// userinfo, refresh. Every SOAK_EVERY-th iteration of a client adds a contested refresh (two
// refreshes of one token at once: exactly one must win) and a replayed code (the replay must
// fail and the access token of its first redemption must then be refused at userinfo). A
// wrong answer, a status >= 500 or a failed request is an error.
//
// Every SOAK_SAMPLE_SECONDS it samples:
//   - the Worker isolate's V8 heap over the Chrome DevTools Protocol (bench/lib/inspector.mjs,
//     as `make profile` attaches): Runtime.getHeapUsage, then HeapProfiler.collectGarbage and
//     Runtime.getHeapUsage again. workerd hands collectGarbage to V8, which runs it as a task
//     the next time the isolate is entered: it answers at the next request (at once under
//     load; the sampler sends a discovery request to be sure). If it does not answer within
//     10 s, the figure before GC is used and the report says so;
//   - the Wasm linear memory, from the last X-Wasm-Memory header (src/wasm.rs); it never
//     shrinks, so the last value is also the largest;
//   - the RSS (and its anonymous / file / shared parts) of each workerd process of
//     `wrangler dev`: "runtime" runs the Worker, its Durable Objects and miniflare's D1/KV
//     simulators; "proxy" is wrangler's entry and inspector proxy;
//   - the Durable Objects: GrantObject SQLite files under the persist dir, and how many of
//     them the runtime holds open (its file descriptors), i.e. live grant objects.
//
// Targets: 0 errors; isolate memory (V8 heap used after GC + Wasm memory) under 64 MB (half
// the 128 MB a Worker isolate may use) at every sample; flat after warm-up: the largest
// isolate memory of the last window <= that of the first window after warm-up x 1.1 + 1 MiB.
// Warm-up is the first SOAK_WARMUP_SECONDS (default min(60, SOAK_SECONDS / 3)); a window is
// min(60 s, what remains after warm-up / 2).
//
// Knobs: SOAK_SECONDS (default 180), SOAK_CLIENTS (8), SOAK_EVERY (10), SOAK_SAMPLE_SECONDS
// (default min(15, SOAK_SECONDS / 12), at least 2), SOAK_WARMUP_SECONDS, SOAK_IDLE_SECONDS (0:
// keep sampling that long after the load stops, to see what workerd frees when idle),
// SOAK_ALL_ISOLATES=1|gc (also the V8 heap of every isolate of the runtime workerd, from its own
// inspector: miniflare's simulators and entry worker; `gc`: after a collectGarbage each; these
// sessions make wrangler's proxy drop ours, so the Worker's own figures are then missing),
// SOAK_HEAP_SNAPSHOTS=1 (a heap snapshot after warm-up and at the end of the load, saved in
// bench/out/ and compared by constructor; taking one stops the runtime, every isolate of which
// shares one thread, for a few seconds, which shows in the latencies), SOAK_FLOW=no-new-grants (a control: each client
// redeems one code at the start and then loops authorize, userinfo and refresh on that one
// grant, so no new Durable Object is created during the run).
//
// Standalone (`make soak`, `node bench/soak.mjs`) it prints the report and writes
// bench/out/soak-results.md and bench/out/soak-samples.json; bench/run.mjs imports runSoak and
// soakMarkdown for its section of bench/results.md.

import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startServer, REPO_ROOT } from '../tests/harness/server.mjs';
import { CookieJar, createApp, createUser, loginThroughForm, authorizeUrl, pkcePair } from '../tests/integration/helpers.mjs';
import { tree } from './lib/proc.mjs';
import { workerPid } from './lib/floors.mjs';
import { cdp, inspector, httpGet, listeningPorts } from './lib/inspector.mjs';

const REDIRECT = 'https://soak.example/cb';
const ORIGIN = 'https://soak.example';
const MiB = 1024 * 1024;
const OUT = join(REPO_ROOT, 'bench', 'out');
const log = (...a) => console.error('[soak]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function soakConfig(env = process.env) {
  const seconds = Number(env.SOAK_SECONDS ?? 180);
  const warmup = Number(env.SOAK_WARMUP_SECONDS ?? Math.min(60, Math.round(seconds / 3)));
  return {
    seconds,
    clients: Number(env.SOAK_CLIENTS ?? 8),
    every: Number(env.SOAK_EVERY ?? 10),
    sampleSeconds: Number(env.SOAK_SAMPLE_SECONDS ?? Math.max(2, Math.min(15, seconds / 12))),
    warmup,
    window: Math.min(60, (seconds - warmup) / 2),
    idleSeconds: Number(env.SOAK_IDLE_SECONDS ?? 0),
    heapSnapshots: env.SOAK_HEAP_SNAPSHOTS === '1',
    flow: env.SOAK_FLOW ?? 'full',
    allIsolates: env.SOAK_ALL_ISOLATES === 'gc' ? 'gc' : env.SOAK_ALL_ISOLATES === '1',
  };
}

// ---- /proc ------------------------------------------------------------------------------------

/** VmRSS and its parts (kB in /proc/PID/status) of one process, in bytes; null if gone. */
function rssOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return null;
  }
}

/** Open file descriptors of `pid`, counted by what they point at under the persist dir. */
function openFiles(pid, stateDir) {
  const out = { total: 0, grantDbs: 0, throttleDbs: 0, d1: 0, kv: 0, otherState: 0 };
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    let target;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    out.total++;
    if (!target.startsWith(stateDir)) continue;
    // The database file itself (not its -wal/-shm): one per open SQLite connection.
    if (/edge-oidc-GrantObject\/[0-9a-f]{64}\.sqlite$/.test(target)) out.grantDbs++;
    else if (/edge-oidc-LoginThrottle\/[0-9a-f]{64}\.sqlite$/.test(target)) out.throttleDbs++;
    else if (target.includes('/d1/')) out.d1++;
    else if (target.includes('/kv/')) out.kv++;
    else out.otherState++;
  }
  return out;
}

/** GrantObject databases on disk (one per object that has stored something) and their bytes. */
function grantFiles(stateDir) {
  const dir = join(stateDir, 'v3', 'do', 'edge-oidc-GrantObject');
  let files = 0;
  let bytes = 0;
  if (!existsSync(dir)) return { files, bytes };
  for (const f of readdirSync(dir)) {
    if (f.startsWith('metadata.')) continue;
    if (/^[0-9a-f]{64}\.sqlite$/.test(f)) files++;
    try {
      bytes += statSync(join(dir, f)).size;
    } catch {
      /* deleted meanwhile */
    }
  }
  return { files, bytes };
}

/** Bytes of every file under `dir`. */
function duBytes(dir) {
  let total = 0;
  const walk = (d) => {
    let entries = [];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        try {
          total += statSync(p).size;
        } catch {
          /* gone */
        }
      }
    }
  };
  walk(dir);
  return total;
}

// ---- the isolate's heap over CDP ------------------------------------------------------------------

const within = (p, ms, what) =>
  Promise.race([p, sleep(ms).then(() => {
    throw new Error(`${what}: no answer within ${ms} ms`);
  })]);

/** A CDP session to the Worker's isolate that reconnects when wrangler's proxy drops it. */
function isolateHeap(wranglerPid, origin) {
  let session = null;
  const chunks = [];
  let gcWorks = true;
  let gcNote = '';
  const connect = async () => {
    const { list } = await inspector(wranglerPid);
    const target = list.find((t) => /edge-oidc/.test(`${t.title} ${t.url} ${t.id}`)) ?? list[0];
    return cdp(target.ws, {
      onEvent: (m) => {
        if (m.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(m.params.chunk);
      },
    });
  };
  return {
    async sample() {
      try {
        session ??= await connect();
        const before = await within(session.send('Runtime.getHeapUsage'), 5000, 'Runtime.getHeapUsage');
        let after = null;
        if (gcWorks) {
          try {
            const gc = session.send('HeapProfiler.collectGarbage');
            // The GC runs when the isolate is next entered: give it a request to run for.
            httpGet(`${origin}/.well-known/openid-configuration`).catch(() => {});
            await within(gc, 10_000, 'HeapProfiler.collectGarbage');
            after = await within(session.send('Runtime.getHeapUsage'), 5000, 'Runtime.getHeapUsage');
          } catch (e) {
            if (/not found|unknown|wasn't found/i.test(e.message)) gcWorks = false;
            gcNote = e.message;
          }
        }
        return {
          usedBefore: before.usedSize,
          totalBefore: before.totalSize,
          used: (after ?? before).usedSize,
          total: (after ?? before).totalSize,
          embedder: (after ?? before).embedderHeapUsedSize,
          backing: (after ?? before).backingStorageSize,
          gc: Boolean(after),
        };
      } catch (e) {
        gcNote = e.message;
        try {
          session?.close();
        } catch {
          /* closed */
        }
        session = null;
        return null;
      }
    },
    async snapshot(file) {
      session ??= await connect();
      return takeSnapshot(session, chunks, file);
    },
    note: () => gcNote,
    close: () => session?.close(),
  };
}

/**
 * HeapProfiler.takeHeapSnapshot on `session` (workerd answers it itself; V8 collects all
 * garbage first), written to `file`; returns counts and self sizes by node type and
 * constructor name. The snapshot arrives as addHeapSnapshotChunk events (`chunks`). On the
 * session already open: wrangler's inspector proxy serves one client at a time.
 */
async function takeSnapshot(session, chunks, file) {
  chunks.length = 0;
  await within(session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }), 120_000, 'HeapProfiler.takeHeapSnapshot');
  const text = chunks.join('');
  chunks.length = 0;
  writeFileSync(file, text);
  return summarizeSnapshot(JSON.parse(text));
}

/** Count and self size per "type:name" of a V8 heap snapshot. */
export function summarizeSnapshot(snap) {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const n = fields.length;
  const by = new Map();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += n) {
    const type = types[snap.nodes[i + iType]];
    const name = type === 'object' || type === 'native' || type === 'closure' ? snap.strings[snap.nodes[i + iName]] : '';
    const key = `${type}${name ? `:${name}` : ''}`;
    const size = snap.nodes[i + iSize];
    total += size;
    const e = by.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += size;
    by.set(key, e);
  }
  return { total, nodes: snap.nodes.length / n, by: Object.fromEntries(by) };
}

/**
 * Runtime.getHeapUsage of every isolate of the runtime workerd (its own inspector, which lists
 * them all: the Worker, miniflare's D1/KV simulators, its entry worker...), with
 * HeapProfiler.collectGarbage first when `gc`. For diagnosis (SOAK_ALL_ISOLATES=1): short
 * sessions, since wrangler's proxy holds its own to the Worker's isolate.
 * Returns { title: { used, total } } (used after GC when it answered within 5 s).
 */
async function allIsolates(runtimePid, origin, gc) {
  for (const port of listeningPorts(runtimePid)) {
    let list;
    try {
      list = JSON.parse(await httpGet(`http://127.0.0.1:${port}/json/list`));
    } catch {
      continue;
    }
    if (!Array.isArray(list)) continue;
    const one = async (t) => {
      const title = String(t.title ?? t.id).replace(/^workerd: worker /, '').split(' ')[0];
      let s;
      try {
        s = await within(cdp(t.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/${t.id}`), 3000, 'connect');
        let u = await within(s.send('Runtime.getHeapUsage'), 3000, 'heap');
        let gcDone = false;
        // Only where there is something to collect: an isolate nothing enters would not
        // answer until it is next entered.
        if (gc && u.totalSize > 4 * MiB) {
          const p = s.send('HeapProfiler.collectGarbage');
          httpGet(`${origin}/.well-known/openid-configuration`).catch(() => {});
          gcDone = await within(p, 3000, 'gc').then(() => true, () => false);
          if (gcDone) u = await within(s.send('Runtime.getHeapUsage'), 3000, 'heap');
        }
        return [title, { used: u.usedSize, total: u.totalSize, gc: gcDone }];
      } catch (e) {
        return [title, { error: e.message }];
      } finally {
        try {
          s?.close();
        } catch {
          /* closed */
        }
      }
    };
    return Object.fromEntries(await Promise.all(list.map(one)));
  }
  return {};
}

// ---- the load ---------------------------------------------------------------------------------

class Steps {
  constructor() {
    this.times = new Map();
  }

  add(step, ms) {
    if (!this.times.has(step)) this.times.set(step, []);
    this.times.get(step).push(ms);
  }

  summary() {
    const out = [];
    for (const [step, t] of this.times) {
      const v = [...t].sort((a, b) => a - b);
      const pct = (p) => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
      out.push({ step, count: v.length, p50: pct(50), p99: pct(99), max: v[v.length - 1] });
    }
    return out;
  }
}

async function setup(server, clients) {
  const app = await createApp(server, { name: 'Soak SPA', type: 'spa', redirect_uris: [REDIRECT], allowed_origins: [ORIGIN] });
  const user = await createUser(server);
  const cookies = [];
  for (let c = 0; c < clients; c++) {
    const jar = new CookieJar();
    const url = authorizeUrl(server, {
      response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
      code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 's',
    });
    await loginThroughForm(server, url, { jar, email: user.email, password: user.password });
    cookies.push(jar.header());
  }
  return { app, user, cookies };
}

/** The requests of one client, each timed under its step name; throws on a wrong answer. */
function clientOps(server, app, cookie, steps, lastWasm) {
  const timed = async (step, fn) => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      steps.add(step, performance.now() - t0);
    }
  };
  const call = async (url, init) => {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const body = await res.text();
    const w = Number(res.headers.get('x-wasm-memory'));
    if (w) lastWasm.value = Math.max(lastWasm.value, w);
    if (res.status >= 500) throw new Error(`${new URL(url).pathname}: ${res.status} ${body.slice(0, 200)}`);
    return { res, body };
  };
  const json = (body) => {
    try {
      return JSON.parse(body);
    } catch {
      return undefined;
    }
  };
  const form = (params) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
    body: new URLSearchParams(params),
  });

  const authorize = () => timed('authorize', async () => {
    const { verifier, challenge } = pkcePair();
    const state = randomBytes(8).toString('hex');
    const url = authorizeUrl(server, {
      response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid email offline_access',
      code_challenge: challenge, code_challenge_method: 'S256', state,
    });
    const { res } = await call(url, { headers: { cookie }, redirect: 'manual' });
    const loc = res.headers.get('location');
    if (res.status !== 302 || !loc) throw new Error(`authorize: ${res.status}, expected 302`);
    const back = new URL(loc);
    const code = back.searchParams.get('code');
    if (!code || back.searchParams.get('state') !== state) throw new Error(`authorize: no code or wrong state in ${loc}`);
    return { code, verifier };
  });
  const exchangeRaw = ({ code, verifier }) =>
    call(`${server.origin}/token`, form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.client_id, code_verifier: verifier }));
  const exchange = (c) => timed('token (code)', async () => {
    const { res, body } = await exchangeRaw(c);
    const j = json(body);
    if (res.status !== 200 || !j?.access_token || !j.refresh_token || !j.id_token) {
      throw new Error(`code exchange: ${res.status} ${body.slice(0, 200)}`);
    }
    return j;
  });
  const userinfoRaw = (access) => call(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${access}`, origin: ORIGIN } });
  let sub;
  const userinfo = (access) => timed('userinfo', async () => {
    const { res, body } = await userinfoRaw(access);
    const j = json(body);
    if (res.status !== 200 || !j?.sub) throw new Error(`userinfo: ${res.status} ${body.slice(0, 200)}`);
    sub ??= j.sub;
    if (j.sub !== sub) throw new Error(`userinfo: sub ${j.sub}, expected ${sub}`);
  });
  const refreshRaw = (token) => call(`${server.origin}/token`, form({ grant_type: 'refresh_token', refresh_token: token, client_id: app.client_id }));
  const refresh = (token) => timed('refresh', async () => {
    const { res, body } = await refreshRaw(token);
    const j = json(body);
    if (res.status !== 200 || !j?.access_token || !j.refresh_token || j.refresh_token === token) {
      throw new Error(`refresh: ${res.status} ${body.slice(0, 200)}`);
    }
    return j;
  });
  // Two refreshes of one token at once: exactly one 200, the other invalid_grant.
  const contested = async (token) => {
    const one = () => timed('refresh (contested)', () => refreshRaw(token));
    const [a, b] = await Promise.all([one(), one()]);
    const won = [a, b].filter((r) => r.res.status === 200);
    const lost = [a, b].filter((r) => r.res.status === 400 && json(r.body)?.error === 'invalid_grant');
    if (won.length !== 1 || lost.length !== 1) {
      throw new Error(`contested refresh: ${a.res.status} ${a.body.slice(0, 80)} / ${b.res.status} ${b.body.slice(0, 80)}; expected one 200 and one invalid_grant`);
    }
  };
  // A code redeemed twice: the replay fails and revokes the grant, so the access token of the
  // first redemption is refused at userinfo.
  const replay = async () => {
    const c = await authorize();
    const first = await exchange(c);
    await timed('token (replayed code)', async () => {
      const { res, body } = await exchangeRaw(c);
      if (res.status !== 400 || json(body)?.error !== 'invalid_grant') throw new Error(`replayed code: ${res.status} ${body.slice(0, 200)}; expected invalid_grant`);
    });
    await timed('userinfo (revoked grant)', async () => {
      const { res, body } = await userinfoRaw(first.access_token);
      if (res.status !== 401) throw new Error(`userinfo after a replayed code: ${res.status} ${body.slice(0, 200)}; expected 401`);
    });
  };
  return { authorize, exchange, userinfo, refresh, contested, replay };
}

/**
 * Runs the soak (see the header). Returns { config, steps, samples, minutes, flows, errors,
 * firstErrors, targets, ... }; `soakMarkdown` turns it into the report.
 */
export async function runSoak(config = soakConfig()) {
  process.env.EDGE_OIDC_FEATURES = '';
  log(`starting wrangler dev; ${config.clients} clients for ${config.seconds} s (${config.flow})`);
  const server = await startServer({ vars: { STORAGE_METER: 'true' } });
  const steps = new Steps();
  const samples = [];
  const flowsAt = []; // seconds since start of each completed iteration
  const errorsAt = [];
  const firstErrors = [];
  let grants = 0; // code exchanges that succeeded: each one a new GrantObject
  const lastWasm = { value: 0 };
  let heap;
  let snapshots = null;
  try {
    const { app, cookies } = await setup(server, config.clients);
    const runtime = workerPid(server.pid);
    heap = isolateHeap(server.pid, server.origin);
    const start = performance.now();
    const elapsed = () => (performance.now() - start) / 1000;
    const error = (e) => {
      errorsAt.push(elapsed());
      if (firstErrors.length < 10) firstErrors.push(`${elapsed().toFixed(1)} s: ${e.message}`);
    };

    const sampleOnce = async (phase) => {
      const t = elapsed();
      const isolate = await heap.sample();
      const procs = tree(server.pid).filter((p) => p.comm === 'workerd').map((p) => ({ pid: p.pid, role: p.pid === runtime ? 'runtime' : 'proxy', ...rssOf(p.pid) }));
      const s = {
        t, phase, flows: flowsAt.length, errors: errorsAt.length, grants,
        heap: isolate, wasm: lastWasm.value || null,
        isolate: isolate && lastWasm.value ? isolate.used + lastWasm.value : null,
        procs, fds: openFiles(runtime, server.stateDir), grantFiles: grantFiles(server.stateDir),
        stateBytes: duBytes(server.stateDir),
        isolates: config.allIsolates ? await allIsolates(runtime, server.origin, config.allIsolates === 'gc') : undefined,
        // By simulator: v3/d1, v3/kv, v3/do, v3/observability (miniflare's local traces), ...
        stateDirs: Object.fromEntries(readdirSync(join(server.stateDir, 'v3')).map((d) => [d, duBytes(join(server.stateDir, 'v3', d))])),
      };
      samples.push(s);
      const rt = procs.find((p) => p.role === 'runtime');
      log(`${t.toFixed(0).padStart(4)} s ${phase}: ${s.flows} flows, ${s.errors} errors, heap ${isolate ? (isolate.used / MiB).toFixed(2) : '?'} MiB${isolate && !isolate.gc ? ' (no GC)' : ''}, ` +
        `wasm ${(lastWasm.value / MiB).toFixed(2)} MiB, runtime RSS ${rt ? (rt.rss / MiB).toFixed(0) : '?'} MiB, grants ${grants}, open grant DBs ${s.fds.grantDbs}`);
      return s;
    };

    let stop = false;
    let deadline;
    const client = async (c) => {
      const ops = clientOps(server, app, cookies[c], steps, lastWasm);
      let held = null; // no-new-grants: the one grant this client refreshes
      for (let i = 0; !stop && performance.now() < deadline; i++) {
        try {
          if (config.flow === 'no-new-grants') {
            if (!held) {
              held = await ops.exchange(await ops.authorize());
              grants++;
            }
            await ops.authorize();
            await ops.userinfo(held.access_token);
            held = await ops.refresh(held.refresh_token);
          } else {
            const tok = await ops.exchange(await ops.authorize());
            grants++;
            await ops.userinfo(tok.access_token);
            const next = await ops.refresh(tok.refresh_token);
            if (i % config.every === config.every - 1) {
              await ops.contested(next.refresh_token);
              await ops.replay();
              grants++;
            }
          }
          flowsAt.push(elapsed());
        } catch (e) {
          error(e);
          held = null;
        }
      }
    };

    await sampleOnce('start');
    deadline = performance.now() + config.seconds * 1000;
    let markDone;
    const loadDone = new Promise((r) => (markDone = r));
    const sampler = (async () => {
      let next = config.sampleSeconds;
      let snapped = false;
      while (!stop) {
        const wait = start + next * 1000 - performance.now();
        if (wait > 0) await Promise.race([sleep(wait), loadDone]);
        if (stop) break;
        await sampleOnce(elapsed() < config.warmup ? 'warm-up' : 'load');
        if (config.heapSnapshots && !snapped && elapsed() >= config.warmup) {
          snapped = true;
          mkdirSync(OUT, { recursive: true });
          snapshots = { afterWarmup: await heap.snapshot(join(OUT, 'soak-after-warmup.heapsnapshot')), atWarmup: elapsed() };
        }
        // A slow sample (a GC waiting, a snapshot) does not make the next ones pile up.
        next = Math.max(next + config.sampleSeconds, elapsed() + config.sampleSeconds / 2);
      }
    })();
    await Promise.all(Array.from({ length: config.clients }, (_, c) => client(c)));
    stop = true;
    markDone();
    await sampler;
    const loadSeconds = elapsed();
    await sampleOnce('end of load');
    if (config.heapSnapshots) {
      mkdirSync(OUT, { recursive: true });
      snapshots = { ...snapshots, end: await heap.snapshot(join(OUT, 'soak-end.heapsnapshot')) };
      await sampleOnce('after heap snapshot');
    }
    for (let t = config.sampleSeconds; t <= config.idleSeconds + 1e-9; t += config.sampleSeconds) {
      await sleep(config.sampleSeconds * 1000);
      // The GC's discovery request enters the isolate, but touches no Durable Object.
      await sampleOnce('idle');
    }
    return evaluate({ config, steps: steps.summary(), samples, flowsAt, errorsAt, firstErrors, grants, loadSeconds, gcNote: heap.note(), snapshots });
  } finally {
    heap?.close();
    await server.stop();
  }
}

// ---- evaluation and report ---------------------------------------------------------------------

function evaluate(r) {
  const { config, samples } = r;
  const load = samples.filter((s) => s.phase !== 'idle' && s.phase !== 'after heap snapshot');
  const withIso = load.filter((s) => s.isolate);
  const maxOf = (xs) => (xs.length ? Math.max(...xs) : NaN);
  const end = r.loadSeconds;
  const first = withIso.filter((s) => s.t > config.warmup && s.t <= config.warmup + config.window);
  const last = withIso.filter((s) => s.t > end - config.window);
  const firstMax = maxOf(first.map((s) => s.isolate));
  const lastMax = maxOf(last.map((s) => s.isolate));
  const allowed = firstMax * 1.1 + MiB;
  const peak = maxOf(withIso.map((s) => s.isolate));
  const errors = r.errorsAt.length;
  const minutes = [];
  // A last minute of a few seconds (the run's end just past a minute) joins the one before.
  const nMin = Math.max(1, Math.ceil((end - 5) / 60));
  const runtimeRss = (s) => s.procs.find((p) => p.role === 'runtime')?.rss;
  const proxyRss = (s) => s.procs.filter((p) => p.role === 'proxy').reduce((a, p) => a + (p.rss ?? 0), 0);
  for (let m = 1; m <= nMin; m++) {
    const lo = (m - 1) * 60;
    const hi = m === nMin ? end : m * 60;
    const inMin = load.filter((s) => s.t > lo && s.t <= hi + 1);
    const lastS = inMin[inMin.length - 1];
    const flows = r.flowsAt.filter((t) => t > lo && t <= hi).length;
    minutes.push({
      minute: m,
      seconds: hi - lo,
      flows,
      flowsPerSecond: flows / (hi - lo),
      errors: r.errorsAt.filter((t) => t > lo && t <= hi).length,
      heapMax: maxOf(inMin.filter((s) => s.heap).map((s) => s.heap.used)),
      heapBeforeMax: maxOf(inMin.filter((s) => s.heap).map((s) => s.heap.usedBefore)),
      heapCommittedMax: maxOf(inMin.filter((s) => s.heap).map((s) => s.heap.totalBefore)),
      wasm: lastS?.wasm,
      isolateMax: maxOf(inMin.filter((s) => s.isolate).map((s) => s.isolate)),
      runtimeRss: lastS && runtimeRss(lastS),
      proxyRss: lastS && proxyRss(lastS),
      grants: lastS?.grants,
      grantFiles: lastS?.grantFiles.files,
      openGrantDbs: lastS?.fds.grantDbs,
      fds: lastS?.fds.total,
    });
  }
  // Growth of the runtime's RSS after warm-up (least squares): per minute, and per new grant.
  const post = load.filter((s) => s.t > config.warmup && runtimeRss(s));
  const slope = (xs, ys) => {
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    return den ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / den : NaN;
  };
  const perMinute = post.length >= 2 ? slope(post.map((s) => s.t / 60), post.map(runtimeRss)) : NaN;
  let perGrant = NaN;
  if (post.length >= 2) {
    const xs = post.map((s) => s.grants);
    const ys = post.map(runtimeRss);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
    const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    perGrant = den ? num / den : NaN;
  }
  const gcOk = withIso.every((s) => s.heap.gc);
  const targets = [
    ['soak: 0 errors (wrong answers, statuses >= 500, failed requests)', errors === 0, `${errors} in ${r.flowsAt.length} flows`],
    ['soak: isolate memory (V8 heap used after GC + Wasm memory) < 64 MB (64e6 bytes) at every sample', peak < 64e6,
      `peak ${(peak / MiB).toFixed(2)} MiB${gcOk ? '' : ' (some samples without GC: heap before GC)'}`],
    [`soak: isolate memory flat after warm-up (max of the last ${config.window.toFixed(0)} s <= max of the first ${config.window.toFixed(0)} s after a ${config.warmup.toFixed(0)} s warm-up x 1.1 + 1 MiB)`,
      first.length > 0 && last.length > 0 && lastMax <= allowed,
      `${(lastMax / MiB).toFixed(2)} MiB vs ${(firstMax / MiB).toFixed(2)} MiB (allowed ${(allowed / MiB).toFixed(2)})`],
  ];
  const s0 = samples[0];
  const sEnd = load[load.length - 1];
  return {
    ...r, minutes, targets, peak, firstMax, lastMax, perGrant, perMinute,
    flows: r.flowsAt.length, errors,
    flowsPerSecond: r.flowsAt.length / end,
    rssStart: runtimeRss(s0), rssEnd: runtimeRss(sEnd), proxyStart: proxyRss(s0), proxyEnd: proxyRss(sEnd),
  };
}

const mib = (x) => (x === undefined || x === null || Number.isNaN(x) ? '' : (x / MiB).toFixed(2));
const mib0 = (x) => (x === undefined || x === null || Number.isNaN(x) ? '' : (x / MiB).toFixed(0));
const f1 = (x) => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(1));

function table(headers, body) {
  const lines = [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
  for (const r of body) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

/** The report as Markdown; `level` is the heading level of its title. */
export function soakMarkdown(r, { level = 2 } = {}) {
  const h = '#'.repeat(level);
  const c = r.config;
  const md = [];
  md.push(`${h} Soak: memory under sustained load (issue 19)\n`);
  md.push(`${c.clients} clients in parallel for ${c.seconds} s against \`wrangler dev\` (bench/soak.mjs; \`make soak\`), ` +
    (c.flow === 'no-new-grants'
      ? 'control flow: one grant per client, then authorize with the session, userinfo and refresh on that grant (no new Durable Objects). '
      : `each looping authorize with its session, code exchange with offline_access, userinfo, refresh; every ${c.every}th iteration also a contested refresh (two at once: exactly one must win) and a replayed code (must fail, and its grant's access token must then be refused). `) +
    `${r.flows} iterations (${f1(r.flowsPerSecond)}/s), ${r.grants} grants (one GrantObject each), ${r.errors} errors. ` +
    `Memory sampled every ${f1(c.sampleSeconds)} s: the Worker isolate's V8 heap over the inspector (Runtime.getHeapUsage after HeapProfiler.collectGarbage), the Wasm memory from X-Wasm-Memory, the RSS of each workerd of wrangler dev from /proc.\n`);
  md.push(table(['target', 'result', 'measured'], r.targets.map(([w, ok, d]) => [w, ok ? 'PASS' : 'FAIL', d])));
  md.push('\nPer minute (MiB; the Worker isolate: the largest sample of the minute; the rest: its last sample). ' +
    '"Before GC" is the heap as V8 left it between collections (garbage included; "committed" is what V8 has reserved for it): information, not the target.\n');
  md.push(table(['minute', 'flows/s', 'errors', 'V8 heap used after GC', 'before GC: used / committed', 'Wasm memory', 'isolate (heap + Wasm)', 'runtime workerd RSS', 'proxy workerd RSS', 'grants so far', 'GrantObject DBs on disk', 'GrantObject DBs open'],
    r.minutes.map((m) => [
      `${m.minute}${m.seconds < 59 ? ` (${m.seconds.toFixed(0)} s)` : ''}`, f1(m.flowsPerSecond), m.errors, mib(m.heapMax), `${mib(m.heapBeforeMax)} / ${mib(m.heapCommittedMax)}`, mib(m.wasm), mib(m.isolateMax),
      mib0(m.runtimeRss), mib0(m.proxyRss), m.grants ?? '', m.grantFiles ?? '', m.openGrantDbs ?? '',
    ])));
  const idle = r.samples.filter((s) => s.phase === 'idle');
  if (idle.length) {
    md.push(`\nAfter the load (idle but for the sampler's one discovery request, every ${f1(c.sampleSeconds)} s):\n`);
    md.push(table(['s after the load', 'V8 heap used', 'runtime workerd RSS', 'GrantObject DBs open', 'open fds'], idle.map((s) => [
      f1(s.t - r.loadSeconds), mib(s.heap?.used), mib0(s.procs.find((p) => p.role === 'runtime')?.rss), s.fds.grantDbs, s.fds.total,
    ])));
  }
  md.push('\nLatency per step over the whole run (ms):\n');
  md.push(table(['step', 'count', 'p50', 'p99', 'max'], r.steps.map((s) => [s.step, s.count, f1(s.p50), f1(s.p99), f1(s.max)])));
  md.push(`\nRuntime workerd RSS ${mib0(r.rssStart)} -> ${mib0(r.rssEnd)} MiB (proxy ${mib0(r.proxyStart)} -> ${mib0(r.proxyEnd)} MiB); ` +
    `after warm-up it grew ${Number.isNaN(r.perMinute) ? '?' : mib0(r.perMinute)} MiB a minute (least squares over the samples). ` +
    'The runtime workerd holds the Worker isolate and also miniflare\'s local D1, KV and Durable Object simulators, its entry worker and local observability collector, each an isolate of its own; the Worker isolate\'s own figures are the V8 heap and Wasm columns. ' +
    'bench/soak.md says what grows (SOAK_FLOW=no-new-grants is the control run without new Durable Objects).');
  if (r.gcNote) md.push(`\nInspector note: ${r.gcNote}`);
  if (r.firstErrors.length) md.push(`\nFirst errors:\n${r.firstErrors.map((e) => `- ${e}`).join('\n')}`);
  if (r.snapshots?.afterWarmup && r.snapshots?.end) {
    const a = r.snapshots.afterWarmup.by;
    const b = r.snapshots.end.by;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    const grow = keys.map((k) => ({ k, dc: (b[k]?.count ?? 0) - (a[k]?.count ?? 0), ds: (b[k]?.size ?? 0) - (a[k]?.size ?? 0) }))
      .sort((x, y) => y.ds - x.ds).slice(0, 12);
    md.push(`\nHeap snapshots (bench/out/soak-*.heapsnapshot): ${mib(r.snapshots.afterWarmup.total)} MiB after warm-up, ${mib(r.snapshots.end.total)} MiB at the end; largest growth by constructor:\n`);
    md.push(table(['node', 'count change', 'self size change (KiB)'], grow.map((g) => [g.k.replace(/\|/g, '\\|'), g.dc, (g.ds / 1024).toFixed(1)])));
  }
  return md.join('\n') + '\n';
}

async function main() {
  const r = await runSoak();
  const text = soakMarkdown(r, { level: 1 });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'soak-results.md'), text);
  writeFileSync(join(OUT, 'soak-samples.json'), JSON.stringify({ config: r.config, samples: r.samples, steps: r.steps, minutes: r.minutes, grants: r.grants, flows: r.flows, errors: r.errors, firstErrors: r.firstErrors, snapshots: r.snapshots ? Object.fromEntries(Object.entries(r.snapshots).map(([k, v]) => [k, typeof v === 'object' ? { total: v.total, nodes: v.nodes } : v])) : null }, null, 1));
  console.log(text);
  log(`wrote ${join(OUT, 'soak-results.md')} and soak-samples.json`);
  if (r.targets.some(([, ok]) => !ok)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
