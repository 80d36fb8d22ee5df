// Single-use and first-writer-wins guarantees (codes in their grant's Durable Object), parallel
// redemptions of one code, and concurrent first requests creating one signing key.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  authorizeUrl,
  createApp,
  createUser,
  loginThroughForm,
  locationOf,
  request,
  tokenRequest,
  pkcePair,
  randomToken,
} from './helpers.mjs';

// The meter reports each response's storage calls in X-Storage-Calls (src/store/meter.rs).
// A server of its own: the first test needs a database no request has created keys in yet,
// and the expiry test ages every unconsumed code in it.
const server = useServer({ vars: { STORAGE_METER: 'true' }, isolated: true });
const REDIRECT = 'https://spa.example.com/callback';
let app;
let jar;

before(async () => {
  await server.ready;
});

test('concurrent first requests create exactly one current and one next key per algorithm', async () => {
  // The server is fresh: no key exists until something needs one.
  const before = await server.d1Query('SELECT count(*) AS n FROM signing_keys');
  assert.equal(before[0].n, 0, 'no key before the first request');
  const responses = await Promise.all(
    Array.from({ length: 8 }, () => fetch(`${server.origin}/.well-known/jwks.json`)),
  );
  const bodies = await Promise.all(responses.map((r) => r.json()));
  for (const r of responses) assert.equal(r.status, 200);
  const sets = new Set(bodies.map((b) => b.keys.map((k) => k.kid).sort().join(',')));
  assert.equal(sets.size, 1, `every response names the same keys: ${[...sets]}`);
  const rows = await server.d1Query('SELECT kid, alg, status FROM signing_keys ORDER BY alg, status');
  // One current and one next key per algorithm (RS256, ES256, EdDSA), however many raced.
  assert.deepEqual(
    rows.map((r) => `${r.alg}:${r.status}`),
    ['ES256:current', 'ES256:next', 'EdDSA:current', 'EdDSA:next', 'RS256:current', 'RS256:next'],
    `one key per slot, got ${JSON.stringify(rows)}`,
  );
  assert.deepEqual([...sets][0].split(',').sort(), rows.map((r) => r.kid).sort());
  const stored = await server.d1Query('SELECT private_key_enc FROM signing_keys');
  for (const k of stored) {
    // Sealed: base64url(12-byte IV) "." base64url(AES-GCM ciphertext). A key in the clear
    // would be PEM (BEGIN) or base64 DER (MII...); random ciphertext may contain "MII"
    // anywhere, so only the start counts.
    assert.match(k.private_key_enc, /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{40,}$/, 'stored sealed');
    assert.doesNotMatch(k.private_key_enc, /BEGIN|^MII/, 'the private key is not stored in the clear');
  }
});

async function freshCode() {
  if (!app) {
    app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT], allowed_origins: [new URL(REDIRECT).origin] });
    const user = await createUser(server);
    jar = new CookieJar();
    const { verifier, challenge } = pkcePair();
    const cb = await loginThroughForm(server, authorizeUrl(server, {
      response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
      state: randomToken(), code_challenge: challenge, code_challenge_method: 'S256',
    }), { jar, email: user.email, password: user.password });
    return { code: cb.searchParams.get('code'), verifier };
  }
  // With the session cookie, /authorize redirects straight back with a code.
  const { verifier, challenge } = pkcePair();
  const res = await request(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: randomToken(), code_challenge: challenge, code_challenge_method: 'S256',
  }), { jar });
  await res.arrayBuffer();
  return { code: locationOf(res, server.origin).searchParams.get('code'), verifier };
}

const redeem = ({ code, verifier }) => tokenRequest(server, {
  grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier,
  client_id: app.client_id,
});

test('N parallel redemptions of one code give exactly one token response', async () => {
  const c = await freshCode();
  const results = await Promise.all(Array.from({ length: 20 }, () => redeem(c)));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 400 && r.json?.error === 'invalid_grant');
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status)}`);
  assert.equal(refused.length, 19);
  assert.ok(ok[0].json.id_token);
});

test('a code is sealed: nothing of it is stored, nothing readable in it, and an altered one is refused', async () => {
  const c = await freshCode();
  // Codes are self-contained (AES-GCM): /authorize writes nothing, and the code shows no
  // client id, user or redirect URI to whoever sees it.
  const tables = (await server.d1Query("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name);
  assert.ok(!tables.includes('authorization_codes'), `no code table: ${tables}`);
  const raw = Buffer.from(c.code, 'base64url').toString('latin1');
  for (const plain of [app.client_id, REDIRECT, 'openid']) assert.ok(!raw.includes(plain), `${plain} is not readable`);
  const chars = [...c.code];
  const i = Math.floor(chars.length / 2);
  chars[i] = chars[i] === 'A' ? 'B' : 'A';
  const altered = await redeem({ ...c, code: chars.join('') });
  assert.equal(altered.status, 400, altered.text);
  assert.equal(altered.json?.error, 'invalid_grant');
  // The original was not spent by the refusal.
  const t = await redeem(c);
  assert.equal(t.status, 200, t.text);
});

/** `d1=2; d1_statements=4; kv=1` -> { d1: 2, d1_statements: 4, kv: 1 }. */
function storageCalls(res) {
  const header = res.headers.get('x-storage-calls');
  assert.ok(header, 'the meter header is present');
  return Object.fromEntries(header.split(';').map((p) => p.trim().split('=')).map(([k, v]) => [k, Number(v)]));
}

test('storage round trips per request stay within the budgets of issue 6', async () => {
  const c = await freshCode();
  const origin = new URL(REDIRECT).origin;
  const preflight = () => fetch(`${server.origin}/token`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  const userinfo = (token) => fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  // Warm the isolate's caches (applications, keys, CORS answers) once.
  const warm = await redeem(c);
  assert.equal(warm.status, 200, warm.text);
  await (await userinfo(warm.json.access_token)).arrayBuffer();
  await (await preflight()).arrayBuffer();

  const trips = {};
  for (const [name, path] of [['discovery', '/.well-known/openid-configuration'], ['jwks', '/.well-known/jwks.json']]) {
    const res = await fetch(`${server.origin}${path}`);
    await res.arrayBuffer();
    trips[name] = storageCalls(res);
  }
  const pre = await preflight();
  await pre.arrayBuffer();
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  trips.preflight = storageCalls(pre);

  const { verifier, challenge } = pkcePair();
  const a = await request(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: randomToken(), code_challenge: challenge, code_challenge_method: 'S256',
  }), { jar });
  await a.arrayBuffer();
  trips.authorize = storageCalls(a);
  const t = await redeem({ code: locationOf(a, server.origin).searchParams.get('code'), verifier });
  assert.equal(t.status, 200, t.text);
  trips.token = storageCalls(t);
  const u = await userinfo(t.json.access_token);
  assert.equal(u.status, 200);
  await u.arrayBuffer();
  trips.userinfo = storageCalls(u);

  const total = (s) => s.d1 + s.kv + s.do;
  const msg = JSON.stringify(trips);
  for (const k of ['discovery', 'jwks', 'preflight']) assert.equal(total(trips[k]), 0, `${k}: ${msg}`);
  // Issue 15: nothing on the login path waits on the D1 primary.
  for (const k of ['authorize', 'token', 'userinfo']) assert.equal(trips[k].d1_primary, 0, `${k} without the primary: ${msg}`);
  // /authorize: the session from KV and nothing else (disabling a user ends their sessions);
  // nothing written.
  assert.equal(trips.authorize.kv_read, 1, `the session is read from KV: ${msg}`);
  assert.equal(trips.authorize.kv_write, 0, msg);
  assert.equal(trips.authorize.d1, 0, msg);
  assert.equal(trips.authorize.do, 0, msg);
  // The exchange: one call to the grant's Durable Object, no D1 at all.
  assert.equal(trips.token.do, 1, `the code exchange is one Durable Object call: ${msg}`);
  assert.equal(trips.token.d1, 0, msg);
  // userinfo: one call to the grant's object (does the grant stand, with what profile).
  assert.equal(trips.userinfo.do, 1, `userinfo asks the grant: ${msg}`);
  assert.equal(trips.userinfo.d1, 0, msg);
});

test('D1 reads go through a session a replica may answer; a bookmark carries a write to the next read', async () => {
  const admin = { authorization: `Bearer ${server.adminToken}` };
  const list = await fetch(`${server.origin}/api/v1/users?limit=1`, { headers: admin });
  assert.equal(list.status, 200);
  await list.arrayBuffer();
  const read = storageCalls(list);
  assert.equal(read.d1_primary, 0, `a list is read without the primary: ${JSON.stringify(read)}`);
  assert.equal(read.d1_replica, 1, JSON.stringify(read));

  const email = `bookmark-${randomToken(6).toLowerCase()}@example.com`;
  const created = await fetch(`${server.origin}/api/v1/users`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery' }),
  });
  assert.equal(created.status, 201);
  const user = await created.json();
  const write = storageCalls(created);
  assert.ok(write.d1_primary >= 1, `a write goes to the primary: ${JSON.stringify(write)}`);
  const bookmark = created.headers.get('x-d1-bookmark');
  assert.ok(bookmark, 'management answers carry the session bookmark');

  // The next read, carrying the bookmark, sees the write.
  const again = await fetch(`${server.origin}/api/v1/users/${user.id}`, {
    headers: { ...admin, 'x-d1-bookmark': bookmark },
  });
  assert.equal(again.status, 200);
  assert.equal((await again.json()).email, email);
  assert.ok(again.headers.get('x-d1-bookmark'), 'and carries a bookmark on');
  // A bookmark D1 did not make is ignored, not an error.
  for (const junk of ['not a bookmark!', 'x'.repeat(300), '00000000-bogus']) {
    const r = await fetch(`${server.origin}/api/v1/users/${user.id}`, {
      headers: { ...admin, 'x-d1-bookmark': junk },
    });
    assert.equal(r.status, 200, junk);
    await r.arrayBuffer();
  }
  // Only the management API hands bookmarks out.
  const disco = await fetch(`${server.origin}/.well-known/openid-configuration`);
  await disco.arrayBuffer();
  assert.equal(disco.headers.get('x-d1-bookmark'), null);
});

test('floods of large bodies or made-up Origin headers do not grow the isolate\'s memory', async () => {
  // X-Wasm-Memory (with the meter on) is the Wasm linear memory, which never shrinks: what a
  // request made it grow to stays. Unbounded, 8 chunked 4 MiB bodies read whole would add
  // 4 MiB at least, and 1,100 cached 4 KB origins another 4 MiB.
  const memory = async () => Number((await fetch(`${server.origin}/.well-known/openid-configuration`)).headers.get('x-wasm-memory'));
  const start = await memory();
  assert.ok(start > 0, 'the meter reports the Wasm memory');
  const { request: httpRequest } = await import('node:http');
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const bigBody = () => new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/token', server.origin), {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', (e) => (req.res ? undefined : reject(e)));
    (async () => {
      req.write('grant_type=authorization_code&code=');
      for (let i = 0; i < 64 && !req.destroyed && !req.res; i++) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(() => {});
  });
  for (let i = 0; i < 8; i++) assert.equal(await bigBody(), 400);
  const origins = Array.from({ length: 1100 }, (_, i) => `https://${'o'.repeat(4000)}${i}.example`);
  for (let i = 0; i < origins.length; i += 25) {
    await Promise.all(origins.slice(i, i + 25).map((origin) => fetch(`${server.origin}/token`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' },
    }).then((r) => r.arrayBuffer())));
  }
  const end = await memory();
  assert.ok(end - start < 2 * 1024 * 1024, `Wasm memory ${start} -> ${end} bytes`);
});
