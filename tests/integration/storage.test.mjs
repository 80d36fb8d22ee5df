// Single-use and first-writer-wins guarantees that live in D1: expired codes, parallel
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
    // Sealed: base64url(12-byte IV) "." base64url(AES-GCM ciphertext). The shortest is an
    // Ed25519 PKCS#8 (48 bytes) plus the 16-byte tag: 86 characters. A key in the clear
    // would be PEM (BEGIN) or base64 DER (MII...); random ciphertext may contain "MII"
    // anywhere, so only the start counts.
    assert.match(k.private_key_enc, /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{86,}$/, 'stored sealed');
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
  const results = await Promise.all(Array.from({ length: 10 }, () => redeem(c)));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 400 && r.json?.error === 'invalid_grant');
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status)}`);
  assert.equal(refused.length, 9);
  assert.ok(ok[0].json.id_token);
});

test('an expired code is refused with invalid_grant and stays unredeemed', async () => {
  const c = await freshCode();
  // Age every unconsumed code past its expiry in the server's own D1.
  await server.d1Query(
    'UPDATE authorization_codes SET expires_at = created_at - 1 WHERE consumed_at IS NULL',
  );
  const t = await redeem(c);
  assert.equal(t.status, 400, t.text);
  assert.equal(t.json?.error, 'invalid_grant');
  const unconsumed = await server.d1Query(
    'SELECT count(*) AS n FROM authorization_codes WHERE consumed_at IS NULL',
  );
  assert.equal(unconsumed[0].n, 1, 'the expired code was not marked consumed');
  // A fresh code still works, so the refusal was about expiry.
  const t2 = await redeem(await freshCode());
  assert.equal(t2.status, 200, t2.text);
});

test('codes are stored only as hashes', async () => {
  const c = await freshCode();
  const rows = await server.d1Query('SELECT code_hash FROM authorization_codes');
  assert.ok(rows.length > 0);
  assert.ok(rows.every((r) => r.code_hash !== c.code && /^[0-9a-f]{64}$/.test(r.code_hash)));
  await redeem(c);
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

  const total = (s) => s.d1 + s.kv;
  const msg = JSON.stringify(trips);
  for (const k of ['discovery', 'jwks', 'preflight']) assert.equal(total(trips[k]), 0, `${k}: ${msg}`);
  assert.ok(total(trips.authorize) <= 2, `authorize with a session: ${msg}`);
  assert.equal(total(trips.token), 1, `the code exchange is one D1 batch: ${msg}`);
  assert.ok(total(trips.userinfo) <= 1, `userinfo: ${msg}`);
  assert.ok(total(trips.authorize) + total(trips.token) + total(trips.userinfo) <= 4, `a whole flow: ${msg}`);
});
