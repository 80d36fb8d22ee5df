// The storage conformance suite (src/store/conformance.rs) against D1 and the Durable Objects
// in workerd: the rules written both in SQL (src/store/d1/) and in the in-memory store's Rust
// must agree, and the grant and throttling objects must keep them over their own storage. The
// native `cargo test` runs the same suite against the memory store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';

// Its own throwaway database: the suite writes rows, signing keys among them.
const server = useServer({ vars: { STORE_CONFORMANCE: 'true' }, isolated: true });

test('D1 passes every check of the storage conformance suite', async () => {
  await server.ready;
  const res = await fetch(`${server.origin}/__test/store-conformance`);
  assert.equal(res.status, 200);
  const { results } = await res.json();
  const names = results.map((r) => r.name);
  for (const expected of ['grant_index', 'key_slots', 'consents', 'throttle_counters', 'grant_single_use', 'grant_rotation', 'active_users', 'roles', 'email_change']) {
    assert.ok(names.includes(expected), `the suite runs ${expected}`);
  }
  assert.equal(results.length, 9);
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], 'every check passes on D1');
});
