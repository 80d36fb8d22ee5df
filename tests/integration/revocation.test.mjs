// Token revocation (RFC 7009) and introspection (RFC 7662) in workerd.

import { test, before } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  authorizeUrl,
  basicAuth,
  createApp,
  createUser,
  loginThroughForm,
  pkcePair,
  randomToken,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://revoke.example.com/cb';
const API = 'https://api.revoke.example.com';
let spa;
let resourceServer;
let tokens;

const post = (path, params, headers = {}) => fetch(`${server.origin}${path}`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(params),
});

let user;

/** A fresh grant of the SPA's: the token response (with a refresh token). */
async function freshTokens(extra = {}) {
  const { verifier, challenge } = pkcePair();
  const callback = await loginThroughForm(server, authorizeUrl(server, {
    response_type: 'code', client_id: spa.client_id, redirect_uri: REDIRECT, scope: 'openid offline_access',
    state: randomToken(), code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  }), { jar: new CookieJar(), email: user.email, password: user.password });
  const res = await post('/token', {
    grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: REDIRECT,
    code_verifier: verifier, client_id: spa.client_id,
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.ok(body.refresh_token);
  return body;
}

const userinfo = (token) => fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${token}` } });

before(async () => {
  await server.ready;
  spa = await createApp(server, {
    type: 'spa', redirect_uris: [REDIRECT], allowed_origins: ['https://revoke.example.com'], allowed_audiences: [API],
  });
  resourceServer = await createApp(server, { type: 'm2m' });
  user = await createUser(server);
  tokens = await freshTokens();
});

const introspect = (token) => post('/introspect', { token }, { authorization: basicAuth(resourceServer.client_id, resourceServer.client_secret) });

test('discovery lists both endpoints', async () => {
  const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  assert.equal(d.revocation_endpoint, `${server.origin}/revoke`);
  assert.equal(d.introspection_endpoint, `${server.origin}/introspect`);
});

test('a resource server introspects an access token; garbage is inactive', async () => {
  const res = await introspect(tokens.access_token);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.active, true);
  assert.equal(body.client_id, spa.client_id);
  assert.match(body.scope, /openid/);
  assert.equal((await (await introspect('not-a-token')).json()).active, false);
  const noAuth = await post('/introspect', { token: tokens.access_token });
  assert.equal(noAuth.status, 401);
  const publicClient = await post('/introspect', { token: tokens.access_token, client_id: spa.client_id });
  assert.equal(publicClient.status, 401);
});

test('revoking the refresh token ends the grant, its access token included', async () => {
  assert.equal((await userinfo(tokens.access_token)).status, 200);
  const ok = await post('/revoke', { token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: spa.client_id },
    { origin: 'https://revoke.example.com' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://revoke.example.com', 'an SPA can revoke on logout');
  const refresh = await post('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: spa.client_id });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, 'invalid_grant');
  assert.equal((await userinfo(tokens.access_token)).status, 401, 'the grant\'s access token is refused at once');
  assert.equal((await (await introspect(tokens.access_token)).json()).active, false);
  const again = await post('/revoke', { token: tokens.refresh_token, client_id: spa.client_id });
  assert.equal(again.status, 200, 'revoking twice is fine (RFC 7009 §2.2)');
  assert.equal((await post('/revoke', { token: 'unknown', client_id: spa.client_id })).status, 200);
});

test('client_credentials: a token for an allowed API, verified against the JWKS', async () => {
  const daemon = await createApp(server, {
    type: 'm2m', allowed_audiences: ['https://api.example.com'], allowed_scopes: ['read:things', 'write:things'],
  });
  const auth = { authorization: basicAuth(daemon.client_id, daemon.client_secret) };
  const res = await post('/token', { grant_type: 'client_credentials', scope: 'read:things', resource: 'https://api.example.com' }, auth);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.id_token, undefined);
  assert.equal(body.refresh_token, undefined);
  assert.equal(body.scope, 'read:things');
  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
    issuer: server.origin, audience: 'https://api.example.com', typ: 'at+jwt',
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.sub, daemon.client_id);
  assert.equal(payload.client_id, daemon.client_id);
  const seen = await (await introspect(body.access_token)).json();
  assert.equal(seen.active, true);
  assert.equal(seen.aud, 'https://api.example.com');

  const other = await post('/token', { grant_type: 'client_credentials', audience: 'https://other.example.com' }, auth);
  assert.equal(other.status, 400);
  assert.equal((await other.json()).error, 'invalid_target');
  const wider = await post('/token', { grant_type: 'client_credentials', scope: 'admin' }, auth);
  assert.equal((await wider.json()).error, 'invalid_scope');
  const spaTry = await post('/token', { grant_type: 'client_credentials', client_id: spa.client_id });
  assert.equal((await spaTry.json()).error, 'unauthorized_client');
  const badSecret = await post('/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(daemon.client_id, 'wrong') });
  assert.equal(badSecret.status, 401);
});

test('revoking an opaque access token ends its grant (RFC 7009 §2.1); another client cannot', async () => {
  const t = await freshTokens();
  assert.ok(!t.access_token.includes('.'), 'opaque: no API was named');
  const foreign = await post('/revoke', { token: t.access_token },
    { authorization: basicAuth(resourceServer.client_id, resourceServer.client_secret) });
  assert.equal(foreign.status, 400);
  assert.equal((await userinfo(t.access_token)).status, 200, 'still good after a foreign attempt');
  const ok = await post('/revoke', { token: t.access_token, token_type_hint: 'access_token', client_id: spa.client_id });
  assert.equal(ok.status, 200, await ok.text());
  assert.equal((await userinfo(t.access_token)).status, 401);
  const refresh = await post('/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: spa.client_id });
  assert.equal((await refresh.json()).error, 'invalid_grant', 'the refresh token went with it');
});

test('an API named at /authorize (resource or audience) gets a JWT its API verifies, for that API alone', async () => {
  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  for (const extra of [{ resource: API }, { audience: API }]) {
    const t = await freshTokens(extra);
    const { payload, protectedHeader } = await jwtVerify(t.access_token, jwks, {
      issuer: server.origin, audience: API, typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.aud, API);
    assert.equal(payload.client_id, spa.client_id);
    // Userinfo takes tokens for this provider only (as Logto does): the API's is refused.
    assert.equal((await userinfo(t.access_token)).status, 401);
    // A refreshed access token is for the same API.
    const r = await (await post('/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: spa.client_id })).json();
    await jwtVerify(r.access_token, jwks, { issuer: server.origin, audience: API, typ: 'at+jwt' });
    // A JWT is its API's to check: it cannot be revoked here.
    const revoke = await post('/revoke', { token: r.access_token, client_id: spa.client_id });
    assert.equal((await revoke.json()).error, 'unsupported_token_type');
  }
  // An API the application may not use: invalid_target at the redirect URI (RFC 8707 §2).
  const { challenge } = pkcePair();
  const res = await fetch(authorizeUrl(server, {
    response_type: 'code', client_id: spa.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: 's', code_challenge: challenge, code_challenge_method: 'S256', resource: 'https://elsewhere.example.com',
  }), { redirect: 'manual' });
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.searchParams.get('error'), 'invalid_target');
});
