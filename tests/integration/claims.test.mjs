// Standard claims (OpenID Connect Core §5.1, §5.4) end to end in workerd: an administrator
// gives a user a profile through the management API (stored in D1), the user signs in with
// the profile, address and phone scopes, and userinfo and the ID token (verified against the
// JWKS with jose) carry what each scope releases. A later change reaches userinfo at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import { CookieJar, createApp, createUser, managementApi, obtainCode, request, tokenRequest } from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://claims.example.com/cb';

const userinfo = async (token) => {
  const r = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return r.json();
};

test('profile, address and phone scopes release the user\'s standard claims', async () => {
  await server.ready;
  const api = managementApi(server);
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server, { name: 'Ada Lovelace' });
  const profile = {
    given_name: 'Ada', family_name: 'Lovelace', birthdate: '1815-12-10', locale: 'en-GB',
    zoneinfo: 'Europe/London', picture: 'https://claims.example.com/ada.png',
    phone_number: '+44 20 7946 0958', phone_number_verified: true,
    address: { locality: 'London', country: 'GB' },
  };
  const set = await api('PATCH', `/users/${user.id}`, { profile });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(set.json.profile, profile);
  const bad = await api('PATCH', `/users/${user.id}`, { profile: { birthdate: 'yesterday' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error_description, /profile\.birthdate/);

  const { code, verifier } = await obtainCode(server, {
    app, redirectUri: REDIRECT, jar: new CookieJar(), user, scope: 'openid profile address phone offline_access',
  });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  const info = await userinfo(t.json.access_token);
  for (const k of ['given_name', 'family_name', 'birthdate', 'locale', 'zoneinfo', 'picture', 'phone_number']) {
    assert.equal(info[k], profile[k], k);
  }
  assert.equal(info.phone_number_verified, true);
  assert.deepEqual(info.address, profile.address);
  assert.equal(typeof info.updated_at, 'number');
  assert.equal(info.email, undefined, 'no email scope, no email');
  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(t.json.id_token, jwks, { issuer: server.origin, audience: app.client_id });
  assert.equal(payload.family_name, 'Lovelace');
  assert.deepEqual(payload.address, profile.address);

  // An administrator's change reaches the grant, so userinfo says it at once.
  await new Promise((r) => setTimeout(r, 300)); // the grant index is written after the response
  for (let i = 0; i < 50; i++) {
    const [row] = await server.d1Query(`SELECT count(*) AS n FROM grants WHERE user_id = '${user.id}'`);
    if (row.n === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const moved = await api('PATCH', `/users/${user.id}`, { profile: { ...profile, address: { locality: 'Paris', country: 'FR' } } });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual((await userinfo(t.json.access_token)).address, { locality: 'Paris', country: 'FR' });
});

// OpenID Connect Core §5.5: claims asked for by name, per target, beyond what the scopes
// release. The conformance suite's oidcc-claims-essential asks for `name` in userinfo with
// scope=openid alone, and warns if it is missing or leaks into the ID token.
test('the claims parameter adds claims by name to the ID token or userinfo, and keeps them on refresh', async () => {
  await server.ready;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server, { name: 'Grace Hopper' });
  const claims = JSON.stringify({
    userinfo: { name: { essential: true }, given_name: null },
    id_token: { email: null, 'https://example.com/custom': null },
  });
  const { code, verifier } = await obtainCode(server, {
    app, redirectUri: REDIRECT, jar: new CookieJar(), user, scope: 'openid offline_access', extra: { claims },
  });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  const idClaims = async (jwt) => (await jwtVerify(jwt, jwks, { issuer: server.origin, audience: app.client_id })).payload;
  const first = await idClaims(t.json.id_token);
  assert.equal(first.email, user.email, 'email asked for in the ID token');
  assert.equal(first.name, undefined, 'name was asked for userinfo only');
  assert.equal(first['https://example.com/custom'], undefined, 'unknown claims are ignored');
  const info = await userinfo(t.json.access_token);
  assert.equal(info.name, 'Grace Hopper');
  assert.equal(info.email, undefined, 'email was asked for the ID token only');
  assert.equal(info.given_name, undefined, 'a claim the user does not have is left out');

  const r = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token, client_id: app.client_id });
  assert.equal(r.status, 200, r.text);
  assert.equal((await idClaims(r.json.id_token)).email, user.email, 'a refreshed ID token keeps it');
  assert.equal((await userinfo(r.json.access_token)).name, 'Grace Hopper', 'so does a refreshed access token');

  const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  assert.equal(d.claims_parameter_supported, true);
});

test('a malformed claims parameter is invalid_request at the redirect URI', async () => {
  await server.ready;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server);
  const jar = new CookieJar();
  await obtainCode(server, { app, redirectUri: REDIRECT, jar, user }); // a session, so no login page
  for (const claims of ['{', '[]', '{"userinfo":{"name":true}}']) {
    const url = new URL('/authorize', server.origin);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid', state: 'st',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', claims,
    });
    const res = await request(url, { jar });
    await res.arrayBuffer();
    assert.equal(res.status, 302, claims);
    const loc = new URL(res.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'invalid_request', claims);
    assert.match(loc.searchParams.get('error_description'), /^claims: /);
    assert.equal(loc.searchParams.get('state'), 'st');
  }
});

// OpenID Connect Core §5.3.2 and Dynamic Client Registration §2: an application registered
// with userinfo_signed_response_alg gets userinfo as a JWT (application/jwt) with iss and aud.
test('userinfo_signed_response_alg: userinfo answers a signed JWT', async () => {
  await server.ready;
  const api = managementApi(server);
  const bad = await api('POST', '/applications', {
    type: 'spa', name: 'Bad alg', redirect_uris: [REDIRECT], userinfo_signed_response_alg: 'HS256',
  });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error_description, /userinfo_signed_response_alg/);
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT], userinfo_signed_response_alg: 'ES256' });
  assert.equal(app.userinfo_signed_response_alg, 'ES256');
  const user = await createUser(server, { name: 'Signed Sam' });
  const { code, verifier } = await obtainCode(server, {
    app, redirectUri: REDIRECT, jar: new CookieJar(), user, scope: 'openid profile',
  });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  const r = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${t.json.access_token}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/jwt/);
  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(await r.text(), jwks, { issuer: server.origin, audience: app.client_id });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.sub, user.id);
  assert.equal(payload.name, 'Signed Sam');
  const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  assert.ok(d.userinfo_signing_alg_values_supported.includes('RS256'));
});
