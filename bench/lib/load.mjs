// A bounded load: `n` calls of `one(i)` with at most `concurrency` in flight, timing each.
// Node's fetch keeps connections alive, as a load tool would.

export async function runLoad({ n, concurrency = 1, one, warmup = 0 }) {
  for (let i = 0; i < warmup; i++) await one(-1 - i);
  const times = [];
  let errors = 0;
  let firstError;
  let next = 0;
  const start = process.hrtime.bigint();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const t0 = process.hrtime.bigint();
      try {
        await one(i);
      } catch (e) {
        errors++;
        firstError ??= e;
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  if (errors && errors === n) throw firstError;
  return { n, seconds, rps: n / seconds, p50: pct(50), p99: pct(99), errors, firstError };
}

/** fetch that fails on an unexpected status and drains the body. */
export async function expect(res, status) {
  const body = await res.text();
  const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
  if (!ok) throw new Error(`${res.url}: ${res.status} ${body.slice(0, 200)}`);
  return body;
}
