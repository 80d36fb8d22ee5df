// Signing keys: current + next published, rotation through the management API and the cron
// trigger, and tokens signed before a rotation still verifying after it.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  authorizeUrl,
  createApp,
  createUser,
  locationOf,
  managementApi,
  pkcePair,
  request,
  tokenRequest,
  obtainCode,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://keys.example.com/cb';
let app;
let user;
let api;
const jar = new CookieJar();
// RS256 keys retired before this file ran (test files share a database): the counts below
// are of what this file's rotations leave, so these are left out.
let retiredEarlier;

before(async () => {
  await server.ready;
  api = managementApi(server);
  app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  user = await createUser(server);
  retiredEarlier = new Set((await keyList()).filter((k) => k.status === 'retired').map((k) => k.kid));
});

async function tokens() {
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid email' });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  return t.json;
}

// The RS256 keys (access tokens and default ID tokens); other algorithms have their own slots.
const jwksKids = async () => (await (await fetch(`${server.origin}/.well-known/jwks.json`)).json()).keys
  .filter((k) => k.alg === 'RS256' && !retiredEarlier.has(k.kid)).map((k) => k.kid);
const allKeys = async () => (await api('GET', '/keys')).json.keys;
const keyList = async () => (await allKeys()).filter((k) => k.alg === 'RS256' && !retiredEarlier?.has(k.kid));
const userinfo = async (at) => (await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${at}` } })).status;

test('the JWKS announces the next key before it signs', async () => {
  const t = await tokens();
  const keys = await keyList();
  const current = keys.find((k) => k.status === 'current');
  const next = keys.find((k) => k.status === 'next');
  assert.ok(current && next, JSON.stringify(keys));
  assert.equal(decodeProtectedHeader(t.id_token).kid, current.kid);
  assert.deepEqual((await jwksKids()).sort(), [current.kid, next.kid].sort());
  assert.ok(!JSON.stringify(keys).includes('private'), 'no private material in the listing');
});

test('rotation: next signs, the old key stays published, old tokens keep verifying', async () => {
  const before = await tokens();
  const oldKid = decodeProtectedHeader(before.id_token).kid;
  const announced = (await keyList()).find((k) => k.status === 'next').kid;

  const r = await api('POST', '/keys/rotate');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.current_kid, announced, 'the announced key is the one that now signs');

  const after = await tokens();
  assert.equal(decodeProtectedHeader(after.id_token).kid, announced);
  const published = await jwksKids();
  assert.ok(published.includes(oldKid), 'the retired key is still published');
  assert.equal(published.length, 3, `retired + current + new next: ${published}`);

  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  for (const t of [before, after]) {
    await jwtVerify(t.id_token, jwks, { issuer: server.origin, audience: app.client_id });
  }
  assert.equal(await userinfo(before.access_token), 200, 'an access token from before the rotation still works');
  assert.equal(await userinfo(after.access_token), 200);
  const statuses = (await keyList()).map((k) => k.status).sort();
  assert.deepEqual(statuses, ['current', 'next', 'retired']);
});

test('the cron trigger rotates too', async () => {
  const current = (await keyList()).find((k) => k.status === 'current').kid;
  const res = await fetch(`${server.origin}/__scheduled?cron=${encodeURIComponent('17 3 * * 1')}`);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  const keys = await keyList();
  assert.notEqual(keys.find((k) => k.status === 'current').kid, current);
  assert.equal(keys.filter((k) => k.status === 'retired').length, 2);
  assert.equal(keys.filter((k) => k.status === 'current').length, 1);
  assert.equal(keys.filter((k) => k.status === 'next').length, 1);
});

test('per-application ID token algorithms: ES256 and EdDSA, verified against the JWKS', async () => {
  const { createHash } = await import('node:crypto');
  for (const [alg, hash, kty] of [['ES256', 'sha256', 'EC'], ['EdDSA', 'sha512', 'OKP']]) {
    // A fresh JWKS client per algorithm: jose will not refetch within its 30 s cooldown, and
    // each algorithm's keys appear on its first use.
    const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
    const redirect = `https://${alg.toLowerCase()}.example.com/cb`;
    const algApp = await createApp(server, { type: 'spa', redirect_uris: [redirect], id_token_signed_response_alg: alg });
    assert.equal(algApp.id_token_signed_response_alg, alg);
    const { verifier, challenge } = pkcePair();
    const res = await request(authorizeUrl(server, {
      response_type: 'code', client_id: algApp.client_id, redirect_uri: redirect, scope: 'openid',
      state: 's', code_challenge: challenge, code_challenge_method: 'S256',
    }), { jar });
    await res.arrayBuffer();
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code: locationOf(res, server.origin).searchParams.get('code'),
      redirect_uri: redirect, code_verifier: verifier, client_id: algApp.client_id,
    });
    assert.equal(t.status, 200, t.text);
    const { payload, protectedHeader } = await jwtVerify(t.json.id_token, jwks, {
      issuer: server.origin, audience: algApp.client_id, algorithms: [alg],
    });
    assert.equal(protectedHeader.alg, alg);
    const digest = createHash(hash).update(t.json.access_token).digest();
    assert.equal(payload.at_hash, digest.subarray(0, digest.length / 2).toString('base64url'), `${alg} at_hash`);
    assert.ok(!t.json.access_token.includes('.'), 'the access token (for userinfo) is opaque, whatever the ID token alg');
    const published = (await (await fetch(`${server.origin}/.well-known/jwks.json`)).json()).keys;
    const ofAlg = published.filter((k) => k.alg === alg);
    const slots = (await allKeys()).filter((k) => k.alg === alg && k.status !== 'retired');
    assert.equal(slots.length, 2, `${alg}: one current and one next key`);
    for (const k of slots) assert.ok(ofAlg.some((p) => p.kid === k.kid), `${alg} ${k.status} is published`);
    assert.ok(ofAlg.some((p) => p.kid === protectedHeader.kid), 'the signing key is published');
    assert.ok(ofAlg.every((k) => k.kty === kty && !('d' in k)), `${alg}: public ${kty} keys only`);
  }
  const bad = await api('POST', '/applications', { name: 'x', type: 'spa', id_token_signed_response_alg: 'HS256' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error_description, /id_token_signed_response_alg/);
});

test('a second rotation covers every algorithm in use', async () => {
  const before = await allKeys();
  const r = await api('POST', '/keys/rotate');
  assert.equal(r.status, 200, r.text);
  const after = await allKeys();
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const was = before.find((k) => k.alg === alg && k.status === 'next').kid;
    const now = after.find((k) => k.alg === alg && k.status === 'current').kid;
    assert.equal(now, was, `${alg}: the announced key signs`);
  }
});

// The conformance suite's oidcc-server-rotate-keys expects one new key of a type it knows
// (RSA or EC): `{"alg": "RS256"}` rotates that algorithm alone.
test('a rotation for one algorithm leaves the others alone', async () => {
  const before = await allKeys();
  const current = (alg, keys) => keys.find((k) => k.alg === alg && k.status === 'current').kid;
  const r = await api('POST', '/keys/rotate', { alg: 'RS256' });
  assert.equal(r.status, 200, r.text);
  const after = await allKeys();
  assert.equal(r.json.current_kid, before.find((k) => k.alg === 'RS256' && k.status === 'next').kid);
  assert.equal(current('RS256', after), r.json.current_kid);
  for (const alg of ['ES256', 'EdDSA']) assert.equal(current(alg, after), current(alg, before), `${alg} untouched`);
  const bad = await api('POST', '/keys/rotate', { alg: 'HS256' });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error_description, /^alg: /);
  const logged = await api('GET', '/logs?event=key.rotated');
  assert.ok(logged.json.logs.some((l) => l.detail?.alg === 'RS256'), JSON.stringify(logged.json.logs[0]));
});
