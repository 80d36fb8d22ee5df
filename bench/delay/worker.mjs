// Bench-only Worker (never deployed): the built provider (build/worker/shim.mjs) unchanged,
// with its storage bindings wrapped so that every call first sleeps the modeled cost of its
// kind. bench/run.mjs starts it with bench/delay/wrangler.toml and times real flows with and
// without the delays, to check bench/lib/model.mjs against what a request actually waits.
//
// The delays come per request in the X-Bench-Delays header ("d1_primary=201;d1_replica=96;
// kv_read=5;kv_write=202;kv_list=202;do=2", ms), so one server serves both the delayed and the
// undelayed flows and both see the same isolate. Without the header nothing is delayed.
//
// How calls are classed, without touching src/: a D1 statement prepared on the database itself
// is a primary call (the store's primary reads); one prepared in a session (withSession) goes to
// a replica when its SQL only reads, to the primary otherwise; a batch goes to the primary. KV
// get = read, put/delete = write, list = list. Any call on a Durable Object stub = one DO call.
// The response carries what was injected (X-Injected-Calls), so run.mjs can check this
// classification against the store's own meter (X-Storage-Calls).

import Provider from '../../build/worker/shim.mjs';
import { WorkerEntrypoint } from 'cloudflare:workers';

// The Durable Object classes the provider exports, unchanged (wrangler.toml binds them).
export * from '../../build/worker/shim.mjs';

const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function parseDelays(h) {
  const d = {};
  for (const part of (h ?? '').split(';')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (k && Number.isFinite(Number(v))) d[k] = Number(v);
  }
  return d;
}

/** True when `sql` only reads (a replica may answer it inside a session). */
function readOnly(sql) {
  const s = sql.replace(/^\s*(--[^\n]*\n\s*)*/, '').trimStart().toUpperCase();
  if (s.startsWith('SELECT')) return true;
  return s.startsWith('WITH') && !/\b(INSERT|UPDATE|DELETE|REPLACE)\b/.test(s);
}

/** The real object behind one of our proxies (the runtime's D1 checks what batch() is given). */
const unwrap = new WeakMap();

function wrapper(delays, counts) {
  const charge = async (kind) => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    await sleep(delays[kind] ?? 0);
  };

  // Methods are called on the real object (`target`), not on the proxy: the runtime's classes
  // keep their state in private fields, which a proxy receiver cannot reach. `constructor`
  // passes through as is: the worker crate checks a binding's type by its constructor's name.
  const statement = (stmt, kind) => {
    const p = new Proxy(stmt, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== 'function' || prop === 'constructor') return v;
        if (prop === 'bind') return (...a) => statement(v.apply(target, a), kind);
        if (['first', 'run', 'all', 'raw'].includes(prop)) {
          return async (...a) => {
            await charge(kind);
            return v.apply(target, a);
          };
        }
        return v.bind(target);
      },
    });
    unwrap.set(p, stmt);
    return p;
  };

  const database = (db, inSession) =>
    new Proxy(db, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== 'function' || prop === 'constructor') return v;
        if (prop === 'prepare') {
          return (sql) => statement(v.call(target, sql), inSession && readOnly(sql) ? 'd1_replica' : 'd1_primary');
        }
        if (prop === 'withSession') return (...a) => database(v.apply(target, a), true);
        if (prop === 'batch') {
          return async (stmts) => {
            await charge('d1_primary');
            return v.call(target, stmts.map((s) => unwrap.get(s) ?? s));
          };
        }
        return v.bind(target);
      },
    });

  const kvKind = { get: 'kv_read', getWithMetadata: 'kv_read', put: 'kv_write', delete: 'kv_write', list: 'kv_list' };
  const kv = (ns) =>
    new Proxy(ns, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== 'function' || prop === 'constructor') return v;
        if (!kvKind[prop]) return v.bind(target);
        return async (...a) => {
          await charge(kvKind[prop]);
          return v.apply(target, a);
        };
      },
    });

  const stub = (s) =>
    new Proxy(s, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== 'function' || prop === 'constructor') return v;
        return async (...a) => {
          await charge('do');
          return v.apply(target, a);
        };
      },
    });
  const namespace = (ns) =>
    new Proxy(ns, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== 'function' || prop === 'constructor') return v;
        if (prop === 'get' || prop === 'getByName') return (...a) => stub(v.apply(target, a));
        if (prop === 'jurisdiction') return (...a) => namespace(v.apply(target, a));
        return v.bind(target);
      },
    });

  return (binding) => {
    if (!binding || typeof binding !== 'object') return binding;
    if (typeof binding.prepare === 'function' && typeof binding.batch === 'function') return database(binding, false);
    if (typeof binding.idFromName === 'function') return namespace(binding);
    if (typeof binding.get === 'function' && typeof binding.put === 'function' && typeof binding.list === 'function') return kv(binding);
    return binding;
  };
}

function wrapEnv(env, delays, counts) {
  const wrap = wrapper(delays, counts);
  const cache = new Map();
  return new Proxy(env, {
    get(target, prop) {
      if (!cache.has(prop)) cache.set(prop, wrap(Reflect.get(target, prop)));
      return cache.get(prop);
    },
  });
}

const header = (c) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join('; ');

export default class DelayedProvider extends WorkerEntrypoint {
  async fetch(request) {
    const delays = parseDelays(request.headers.get('x-bench-delays'));
    const counts = {};
    const env = wrapEnv(this.env, delays, counts);
    // The provider's fetch reads env and ctx from its receiver (a WorkerEntrypoint).
    const res = await Provider.prototype.fetch.call({ env, ctx: this.ctx }, request);
    const out = new Response(res.body, res);
    out.headers.set('X-Injected-Calls', header(counts));
    return out;
  }

  scheduled(event) {
    return Provider.prototype.scheduled.call({ env: this.env, ctx: this.ctx }, event);
  }
}
