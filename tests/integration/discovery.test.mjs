// OpenID Connect Discovery document and JWKS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';

const server = useServer();

async function getJson(path) {
  const res = await fetch(server.origin + path);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${text.slice(0, 500)}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/(.+\+)?json/i, `${path} content-type`);
  return { res, json: JSON.parse(text) };
}

test('discovery document has the required fields', async () => {
  const { json: d } = await getJson('/.well-known/openid-configuration');
  const iss = server.origin;
  assert.equal(d.issuer, iss);
  assert.equal(d.authorization_endpoint, `${iss}/authorize`);
  assert.equal(d.token_endpoint, `${iss}/token`);
  assert.equal(d.userinfo_endpoint, `${iss}/userinfo`);
  assert.equal(d.jwks_uri, `${iss}/.well-known/jwks.json`);
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.deepEqual(d.subject_types_supported, ['public']);
  assert.deepEqual([...d.id_token_signing_alg_values_supported].sort(), ['EdDSA', 'ES256', 'RS256'].sort());
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(
    [...d.token_endpoint_auth_methods_supported].sort(),
    ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'],
  );
  assert.ok(Array.isArray(d.grant_types_supported), 'grant_types_supported is an array');
  assert.ok(d.grant_types_supported.includes('authorization_code'));
  assert.ok(Array.isArray(d.scopes_supported), 'scopes_supported is an array');
  for (const s of ['openid', 'email', 'profile']) assert.ok(d.scopes_supported.includes(s), `scope ${s}`);
  assert.ok(Array.isArray(d.claims_supported), 'claims_supported is an array');
  for (const c of ['sub', 'iss', 'email', 'name']) assert.ok(d.claims_supported.includes(c), `claim ${c}`);
  assert.equal(d.authorization_response_iss_parameter_supported, true);
});

test('discovery is public: ACAO * and cacheable', async () => {
  const { res } = await getJson('/.well-known/openid-configuration');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
});

test('JWKS publishes RSA, EC and OKP signing keys in the expected shape, public parts only', async () => {
  const { res, json } = await getJson('/.well-known/jwks.json');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.ok(Array.isArray(json.keys) && json.keys.length >= 1, 'keys is a non-empty array');
  const kids = new Set();
  const b64url = /^[A-Za-z0-9_-]+$/;
  for (const k of json.keys) {
    assert.equal(k.use, 'sig');
    assert.equal(typeof k.kid, 'string');
    assert.ok(k.kid.length > 0, 'kid non-empty');
    assert.ok(!kids.has(k.kid), 'kids are unique');
    kids.add(k.kid);
    if (k.alg === 'RS256') {
      assert.equal(k.kty, 'RSA');
      assert.match(k.n, b64url, 'n is base64url without padding');
      assert.match(k.e, b64url, 'e is base64url without padding');
      assert.ok(Buffer.from(k.n, 'base64url').length >= 256, 'modulus is at least 2048 bits');
    } else if (k.alg === 'ES256') {
      assert.equal(k.kty, 'EC');
      assert.equal(k.crv, 'P-256');
      assert.equal(Buffer.from(k.x, 'base64url').length, 32);
      assert.equal(Buffer.from(k.y, 'base64url').length, 32);
    } else {
      assert.equal(k.alg, 'EdDSA');
      assert.equal(k.kty, 'OKP');
      assert.equal(k.crv, 'Ed25519');
      assert.equal(Buffer.from(k.x, 'base64url').length, 32);
    }
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
      assert.equal(k[priv], undefined, `private member ${priv} must not be published`);
    }
  }
  assert.ok(json.keys.some((k) => k.alg === 'RS256'), 'an RS256 key for access tokens');
});

test('JWKS is stable across requests', async () => {
  const a = (await getJson('/.well-known/jwks.json')).json;
  const b = (await getJson('/.well-known/jwks.json')).json;
  assert.deepEqual(
    a.keys.map((k) => k.kid),
    b.keys.map((k) => k.kid),
  );
});

test('registration is off by default: not advertised, /register absent', async () => {
  const { json: d } = await getJson('/.well-known/openid-configuration');
  assert.equal(d.registration_endpoint, undefined);
  const res = await fetch(`${server.origin}/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"redirect_uris":["https://rp.example.com/cb"]}',
  });
  await res.arrayBuffer();
  assert.equal(res.status, 404);
});
