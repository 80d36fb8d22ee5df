// The modeled global storage latency: what the storage calls a request makes (as the store
// layer counts them, X-Storage-Calls) cost a user in each region, from the published round-trip
// times and per-kind costs in bench/latency-model.json. Pure functions; run.mjs feeds them the
// counts it measured, and the delay wrapper (bench/delay/) sleeps the same per-call costs.
//
// Calls are summed as if made one after another: the meter does not record which calls a
// request overlaps, so a request that issues two calls at once is charged both (an upper bound).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'latency-model.json');

/** The model file, with the D1 primary taken from BENCH_D1_PRIMARY when set. */
export function loadModel(env = process.env) {
  const m = JSON.parse(readFileSync(FILE, 'utf8'));
  const cities = Object.keys(m.rtt.regions);
  const primary = env.BENCH_D1_PRIMARY ?? m.d1.primary_default;
  if (!cities.includes(primary)) throw new Error(`BENCH_D1_PRIMARY=${primary}: not one of ${cities.join(', ')}`);
  return { ...m, cities, primary };
}

/** Round trip from `from` to `to` (ms), from the source's row for `from`. */
export function rtt(m, from, to) {
  if (from === to) return m.rtt.same_metro_ms;
  const v = m.rtt.ms[from]?.[to];
  if (v === undefined) throw new Error(`no round trip ${from} -> ${to} in latency-model.json`);
  return v;
}

/** The replica site nearest to `region` and its round trip. */
export function nearestReplica(m, region) {
  let best;
  for (const [code, city] of Object.entries(m.d1.replica_sites)) {
    const ms = rtt(m, region, city);
    if (!best || ms < best.ms) best = { code, city, ms };
  }
  return best;
}

/** Cost (ms) of one call of each kind for a Worker running in `region`. */
export function costs(m, region) {
  const replica = nearestReplica(m, region);
  const kvCentral = rtt(m, region, m.kv.write_to) + m.kv.server_ms;
  return {
    d1_primary: rtt(m, region, m.primary) + m.d1.server_ms,
    d1_replica: replica.ms + m.d1.server_ms,
    kv_read: m.kv.read_hit_ms,
    kv_write: kvCentral,
    kv_list: kvCentral,
    do: m.durable_object.call_ms,
    replica,
  };
}

export const KINDS = ['d1_primary', 'd1_replica', 'kv_read', 'kv_write', 'kv_list', 'do'];

/** Modeled storage latency (ms) of calls `counts` ({ d1_primary, ..., do }) from `region`. */
export function latency(m, region, counts) {
  const c = costs(m, region);
  return KINDS.reduce((sum, k) => sum + (counts?.[k] ?? 0) * c[k], 0);
}

/** A single-region provider next to the primary: every request pays one round trip. */
export function singleRegion(m, region, requests = m.single_region.requests_per_flow) {
  return requests * rtt(m, region, m.primary);
}
