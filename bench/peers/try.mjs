// Tries the benchmark peers on their own: for each, install, start, prepare, then 200 flows in
// sequence and 400 with 8 in parallel, printing flows/s and the server tree's CPU per flow.
// Usage: node bench/peers/try.mjs [workers-oauth-provider|oidc-provider ...]   (Node >= 22)

import { createServer } from 'node:net';
import { runLoad } from '../lib/load.mjs';
import { snapshot, used } from '../lib/proc.mjs';

const PEERS = {
  'workers-oauth-provider': { module: './workers-oauth-provider/peer.mjs', main: 'workerd' },
  'oidc-provider': { module: './oidc-provider/peer.mjs', main: 'node' },
};
const WARMUP = 20;
const RUNS = [
  { label: 'sequential', n: 200, concurrency: 1 },
  { label: 'parallel 8', n: 400, concurrency: 8 },
];

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

// The servers run in their own process groups: on a signal, exit so that their 'exit' hooks kill them.
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));

const wanted = process.argv.slice(2);
for (const id of wanted) if (!PEERS[id]) throw new Error(`unknown peer ${id}; known: ${Object.keys(PEERS).join(', ')}`);

let failed = false;
for (const [id, { module, main }] of Object.entries(PEERS)) {
  if (wanted.length && !wanted.includes(id)) continue;
  const peer = await import(module);
  await peer.install();
  const server = await peer.start({ port: await freePort() });
  try {
    const ctx = await peer.prepare(server);
    console.log(`${peer.name} at ${server.origin} (pid ${server.pid})`);
    await runLoad({ n: 0, warmup: WARMUP, one: () => peer.flow(ctx) });
    for (const { label, n, concurrency } of RUNS) {
      const before = snapshot(server.pid);
      const r = await runLoad({ n, concurrency, one: () => peer.flow(ctx) });
      const after = snapshot(server.pid);
      const cpu = used(before, after);
      const perFlow = (s) => ((s ?? 0) * 1000) / n;
      // The busiest process of the main kind: wrangler dev runs two workerd, the Worker's own
      // (with the local KV) and a proxy in front of it on the public port.
      const busiest = Math.max(
        0,
        ...[...after].filter(([, a]) => a.comm === main).map(([pid, a]) => a.seconds - (before.get(pid)?.seconds ?? 0)),
      );
      const others = Object.entries(cpu.byComm)
        .filter(([comm]) => comm !== main)
        .map(([comm, s]) => `${comm} ${perFlow(s).toFixed(1)} ms`)
        .join(', ');
      console.log(
        `  ${label.padEnd(10)} ${r.rps.toFixed(1).padStart(6)} flows/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms` +
          `  CPU/flow: total ${perFlow(cpu.total).toFixed(1)} ms, ${main} ${perFlow(cpu.byComm[main]).toFixed(1)} ms` +
          ` (busiest ${main} ${perFlow(busiest).toFixed(1)} ms)` +
          (others ? `, ${others}` : '') +
          (r.errors ? `  ERRORS ${r.errors}: ${r.firstError?.message}` : ''),
      );
      if (r.errors) failed = true;
    }
  } finally {
    await server.stop();
  }
}
process.exitCode = failed ? 1 : 0;
