// CPU accounting from /proc: utime + stime of every process of a server's tree, read before
// and after a bounded load. Linux ticks are 10 ms (CLK_TCK 100), so loads must be long enough
// (a few seconds of CPU) for the figures to settle; ratios are taken within one run.

import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100;

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: split after the last ')'.
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

/** The process `root` and all its descendants: [{ pid, comm, ppid, ticks }]. */
export function tree(root) {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => stat(Number(d)))
    .filter(Boolean);
  const out = [];
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!want.has(p.pid) && want.has(p.ppid)) {
        want.add(p.pid);
        grew = true;
      }
    }
  }
  for (const p of all) if (want.has(p.pid)) out.push(p);
  return out;
}

/** CPU seconds per process of the tree right now: Map pid -> { comm, seconds }. */
export function snapshot(root) {
  return new Map(tree(root).map((p) => [p.pid, { comm: p.comm, seconds: p.ticks / CLK_TCK }]));
}

/**
 * CPU used between two snapshots: { total, byComm: { workerd: s, node: s, ... } }.
 * Processes that appeared in between count from zero.
 */
export function used(before, after) {
  const byComm = {};
  let total = 0;
  for (const [pid, a] of after) {
    const d = a.seconds - (before.get(pid)?.seconds ?? 0);
    if (d <= 0) continue;
    byComm[a.comm] = (byComm[a.comm] ?? 0) + d;
    total += d;
  }
  return { total, byComm };
}

/** Runs `fn` and returns its result with the CPU the tree of `root` used meanwhile. */
export async function withCpu(root, fn) {
  const before = snapshot(root);
  const result = await fn();
  const cpu = used(before, snapshot(root));
  return { result, cpu };
}

/** The pid of the workerd that runs the Worker (the busiest workerd of the tree). */
export function workerdPids(root) {
  return tree(root).filter((p) => p.comm === 'workerd').map((p) => p.pid);
}
