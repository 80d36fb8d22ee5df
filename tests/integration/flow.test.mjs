// The authorization code flow with PKCE, driven by the openid-client library (as a relying
// party would) with the login form filled in over plain HTTP. ID tokens are verified against
// the JWKS with jose.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  request,
  authorizeUrl,
  assertLoginForm,
  createApp,
  createUser,
  loginThroughForm,
  locationOf,
  isRedirect,
  halfHash,
  managementApi,
  tokenRequest,
  pkcePair,
  randomToken,
} from './helpers.mjs';

const server = useServer();
const insecure = { execute: [client.allowInsecureRequests] };
const SCOPE = 'openid email profile';

let jwks;
let user;
before(async () => {
  await server.ready;
  jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  user = await createUser(server, { name: 'Ada Lovelace' });
});

/** Starts an authorization request with openid-client; returns what the callback needs. */
async function startAuthorization(config, redirectUri, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const checks = {
    pkceCodeVerifier: verifier,
    expectedState: client.randomState(),
    expectedNonce: client.randomNonce(),
    idTokenExpected: true,
  };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    ...extra,
  });
  assert.equal(url.origin + url.pathname, `${server.origin}/authorize`);
  return { url, checks };
}

function assertCallback(callback, redirectUri, checks) {
  assert.equal(callback.origin + callback.pathname, redirectUri, 'redirected to the redirect_uri');
  assert.ok(callback.searchParams.get('code'), `code in ${callback}`);
  assert.equal(callback.searchParams.get('error'), null, `no error in ${callback}`);
  assert.equal(callback.searchParams.get('state'), checks.expectedState);
  assert.equal(callback.searchParams.get('iss'), server.origin);
}

/** Exchanges the code and checks everything about the result. Returns { tokens, claims }. */
async function redeemAndVerify(config, callback, checks, clientId) {
  const tokens = await client.authorizationCodeGrant(config, callback, checks);
  assert.equal(typeof tokens.access_token, 'string');
  // No API was named: the token is for userinfo only, and opaque (as Auth0's and Logto's).
  assert.ok(!tokens.access_token.includes('.'), `access_token is opaque: ${tokens.access_token}`);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0, 'expires_in');
  assert.ok(tokens.scope.split(' ').includes('openid'), `scope ${tokens.scope}`);

  const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, {
    issuer: server.origin,
    audience: clientId,
    algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(typeof protectedHeader.kid, 'string', 'ID token header has a kid');
  const now = Math.floor(Date.now() / 1000);
  assert.equal(payload.sub, user.id, 'sub is the created user id');
  assert.equal(payload.nonce, checks.expectedNonce);
  assert.ok(Number.isInteger(payload.iat) && Math.abs(payload.iat - now) < 300, `iat ${payload.iat}`);
  assert.ok(Number.isInteger(payload.exp) && payload.exp > now, `exp ${payload.exp}`);
  assert.ok(Number.isInteger(payload.auth_time), 'auth_time is an integer');
  assert.ok(payload.auth_time <= now + 5 && payload.auth_time > now - 600, `auth_time ${payload.auth_time}`);
  assert.equal(payload.at_hash, halfHash(tokens.access_token), 'at_hash matches the access token');
  // openid-client saw the same token.
  assert.equal(tokens.claims().sub, user.id);

  const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
  assert.equal(info.sub, user.id);
  assert.equal(info.email, user.email);
  assert.equal(typeof info.email_verified, 'boolean');
  assert.equal(info.name, 'Ada Lovelace');
  return { tokens, claims: payload };
}

describe('public SPA client (token_endpoint_auth_method none)', () => {
  const redirectUri = 'https://spa.example.com/callback';
  let app;
  let config;
  const jar = new CookieJar();
  let first;

  before(async () => {
    app = await createApp(server, { type: 'spa', redirect_uris: [redirectUri] });
    assert.equal(app.token_endpoint_auth_method, 'none');
    assert.equal(app.client_secret, undefined, 'SPA apps get no secret');
    config = await client.discovery(new URL(server.origin), app.client_id, undefined, client.None(), insecure);
  });

  test('code + PKCE flow through the login form', async () => {
    const { url, checks } = await startAuthorization(config, redirectUri);
    const callback = await loginThroughForm(server, url, { jar, email: user.email, password: user.password });
    assertCallback(callback, redirectUri, checks);
    first = await redeemAndVerify(config, callback, checks, app.client_id);
  });

  test('SSO: a second authorization with the session cookie skips the form', async () => {
    assert.ok(first, 'needs the first login');
    const { url, checks } = await startAuthorization(config, redirectUri);
    const res = await request(url, { jar });
    await res.arrayBuffer();
    assert.ok(isRedirect(res.status), `expected a redirect, got ${res.status}`);
    const callback = locationOf(res, server.origin);
    assertCallback(callback, redirectUri, checks);
    const second = await redeemAndVerify(config, callback, checks, app.client_id);
    assert.equal(second.claims.auth_time, first.claims.auth_time, 'auth_time is the session login time');
    assert.notEqual(second.tokens.access_token, first.tokens.access_token);
  });

  test('prompt=login with a session shows the login form again', async () => {
    assert.ok(first, 'needs the first login');
    const { url } = await startAuthorization(config, redirectUri, { prompt: 'login' });
    const res = await request(url, { jar: jar.clone() });
    const html = await res.text();
    assert.equal(res.status, 200, `status ${res.status}`);
    assert.equal(res.headers.get('location'), null);
    assertLoginForm(html);
  });

  test('prompt=none with a session returns a code', async () => {
    assert.ok(first, 'needs the first login');
    const { url, checks } = await startAuthorization(config, redirectUri, { prompt: 'none' });
    const res = await request(url, { jar });
    await res.arrayBuffer();
    assert.ok(isRedirect(res.status), `expected a redirect, got ${res.status}`);
    assertCallback(locationOf(res, server.origin), redirectUri, checks);
  });

  test('raw token response: Bearer, no-store, JSON', async () => {
    assert.ok(first, 'needs the first login');
    const { verifier, challenge } = pkcePair();
    const state = randomToken();
    const res = await request(
      authorizeUrl(server, {
        response_type: 'code',
        client_id: app.client_id,
        redirect_uri: redirectUri,
        scope: 'openid',
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      { jar },
    );
    await res.arrayBuffer();
    const code = locationOf(res, server.origin).searchParams.get('code');
    assert.ok(code, 'code');
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: app.client_id,
    });
    assert.equal(t.status, 200, t.text);
    assert.match(t.headers.get('content-type') ?? '', /application\/json/i);
    assert.match(t.headers.get('cache-control') ?? '', /no-store/i);
    assert.equal(t.json.token_type, 'Bearer');
    assert.equal(t.json.scope, 'openid');
    // scope openid only: userinfo carries sub but no email/profile claims.
    const ui = await fetch(`${server.origin}/userinfo`, {
      headers: { authorization: `Bearer ${t.json.access_token}` },
    });
    const info = await ui.json();
    assert.equal(ui.status, 200);
    assert.equal(info.sub, user.id);
    assert.equal(info.email, undefined, 'no email without the email scope');
    assert.equal(info.name, undefined, 'no name without the profile scope');
  });

  test('userinfo also answers POST', async () => {
    assert.ok(first, 'needs the first login');
    const res = await fetch(`${server.origin}/userinfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.tokens.access_token}` },
    });
    const info = await res.json();
    assert.equal(res.status, 200);
    assert.equal(info.sub, user.id);
  });
});

describe('confidential traditional client', () => {
  const redirectUri = 'https://web.example.com/oidc/callback';
  let app;

  before(async () => {
    app = await createApp(server, { type: 'traditional', redirect_uris: [redirectUri] });
    assert.equal(app.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(typeof app.client_secret, 'string');
    assert.ok(app.client_secret.length >= 32, 'client_secret is long enough');
  });

  test('client_secret_basic', async () => {
    const config = await client.discovery(
      new URL(server.origin),
      app.client_id,
      undefined,
      client.ClientSecretBasic(app.client_secret),
      insecure,
    );
    const { url, checks } = await startAuthorization(config, redirectUri);
    const callback = await loginThroughForm(server, url, {
      jar: new CookieJar(),
      email: user.email,
      password: user.password,
    });
    assertCallback(callback, redirectUri, checks);
    await redeemAndVerify(config, callback, checks, app.client_id);
  });

  test('client_secret_post (second client)', async () => {
    const second = await createApp(server, { type: 'traditional', redirect_uris: [redirectUri] });
    // If the API lets the auth method be changed, use that; otherwise the server must accept
    // client_secret_post for a client registered with client_secret_basic.
    const patched = await managementApi(server)('PATCH', `/applications/${second.client_id}`, {
      token_endpoint_auth_method: 'client_secret_post',
    });
    assert.ok([200, 400].includes(patched.status), `PATCH: ${patched.status} ${patched.text}`);
    const config = await client.discovery(
      new URL(server.origin),
      second.client_id,
      undefined,
      client.ClientSecretPost(second.client_secret),
      insecure,
    );
    const { url, checks } = await startAuthorization(config, redirectUri);
    const callback = await loginThroughForm(server, url, {
      jar: new CookieJar(),
      email: user.email,
      password: user.password,
    });
    assertCallback(callback, redirectUri, checks);
    await redeemAndVerify(config, callback, checks, second.client_id);
  });

  test('SSO across applications: a session from one app serves another', async () => {
    const spa = await createApp(server, { type: 'spa', redirect_uris: ['https://other.example.com/cb'] });
    const jar = new CookieJar();
    const spaConfig = await client.discovery(new URL(server.origin), spa.client_id, undefined, client.None(), insecure);
    const a = await startAuthorization(spaConfig, 'https://other.example.com/cb');
    await loginThroughForm(server, a.url, { jar, email: user.email, password: user.password });

    const config = await client.discovery(
      new URL(server.origin),
      app.client_id,
      undefined,
      client.ClientSecretBasic(app.client_secret),
      insecure,
    );
    const { url, checks } = await startAuthorization(config, redirectUri);
    const res = await request(url, { jar });
    await res.arrayBuffer();
    assert.ok(isRedirect(res.status), `expected a redirect, got ${res.status}`);
    const callback = locationOf(res, server.origin);
    assertCallback(callback, redirectUri, checks);
    await redeemAndVerify(config, callback, checks, app.client_id);
  });
});
