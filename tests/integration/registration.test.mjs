// Dynamic client registration (RFC 7591, OpenID Connect Dynamic Client Registration 1.0)
// and RFC 7592 client management, driven by openid-client's own registration support.

import { test, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { useServer } from '../harness/index.mjs';
import { CookieJar, assertLoginForm, createUser, inputValues, locationOf, request } from './helpers.mjs';

const INITIAL = 'initial-access-token-for-tests';
const server = useServer({
  vars: { REGISTRATION_ENABLED: 'true', REGISTRATION_INITIAL_ACCESS_TOKEN: INITIAL },
});
const insecure = { execute: [client.allowInsecureRequests] };
const REDIRECT = 'https://rp.example.com/callback';

let user;
before(async () => {
  await server.ready;
  user = await createUser(server);
});

const register = (body, token = INITIAL) => fetch(`${server.origin}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

describe('registration', () => {
  test('discovery advertises the registration endpoint when it is on', async () => {
    const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
    assert.equal(d.registration_endpoint, `${server.origin}/register`);
  });

  // RFC 7591 §2: the branding a client registers comes back, and a non-https logo is
  // invalid_client_metadata naming the field (oidcc-registration-logo-uri and friends).
  test('logo_uri, policy_uri, tos_uri and userinfo_signed_response_alg are kept and echoed', async () => {
    const brand = {
      logo_uri: 'https://rp.example.com/logo.png', policy_uri: 'https://rp.example.com/privacy', tos_uri: 'https://rp.example.com/tos',
      userinfo_signed_response_alg: 'RS256',
    };
    const res = await register({ redirect_uris: [REDIRECT], client_name: 'Branded RP', ...brand });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    for (const [k, v] of Object.entries(brand)) assert.equal(body[k], v, k);
    const bad = await register({ redirect_uris: [REDIRECT], logo_uri: 'http://rp.example.com/logo.png' });
    const err = await bad.json();
    assert.equal(bad.status, 400);
    assert.equal(err.error, 'invalid_client_metadata');
    assert.match(err.error_description, /logo_uri/);
  });

  test('without the initial access token registration is refused', async () => {
    for (const token of [null, 'wrong']) {
      const res = await register({ redirect_uris: [REDIRECT] }, token);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'invalid_token');
    }
  });

  test('bad metadata gets the RFC 7591 error codes', async () => {
    const cases = [
      [{ redirect_uris: ['https://*.rp.example.com/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['not a uri'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: [REDIRECT], response_types: ['id_token'] }, 'invalid_client_metadata'],
      // private_key_jwt needs the client's keys (jwks or jwks_uri).
      [{ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
    ];
    for (const [body, code] of cases) {
      const res = await register(body);
      const json = await res.json();
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(json.error, code, JSON.stringify(body));
      assert.ok(json.error_description);
    }
    const notJson = await fetch(`${server.origin}/register`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL}` }, body: '{',
    });
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).error, 'invalid_client_metadata');
  });

  test('openid-client registers a client and logs a user in with it (consent shown)', async () => {
    const config = await client.dynamicClientRegistration(
      new URL(server.origin),
      // openid-client authenticates with client_secret_post when it has a secret and was given
      // no method; the provider refuses any method but the registered one.
      { redirect_uris: [REDIRECT], client_name: 'Registered RP', token_endpoint_auth_method: 'client_secret_post' },
      undefined,
      { ...insecure, initialAccessToken: INITIAL },
    );
    const meta = config.clientMetadata();
    assert.ok(meta.client_id);
    assert.ok(meta.client_secret, 'a confidential client gets a secret');
    assert.ok(meta.registration_access_token);
    assert.equal(meta.registration_client_uri, `${server.origin}/register/${meta.client_id}`);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid email', state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const jar = new CookieJar();
    const page = await request(url, { jar });
    const hidden = assertLoginForm(await page.text());
    const consent = await request(new URL('/login', server.origin), {
      jar, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...hidden, email: user.email, password: user.password }),
    });
    const html = await consent.text();
    assert.match(html, /action="\/consent"/, 'registered clients are third-party: consent is asked');
    assert.match(html, /Registered RP/);
    const decided = await request(new URL('/consent', server.origin), {
      jar, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...inputValues(html), decision: 'allow' }),
    });
    await decided.arrayBuffer();
    const callback = locationOf(decided, server.origin);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    assert.equal(tokens.claims().sub, user.id);
    assert.equal(tokens.claims().aud, meta.client_id);
  });
});

describe('RFC 7592 management with the registration access token', () => {
  let info;
  before(async () => {
    const res = await register({ redirect_uris: [REDIRECT], client_name: 'Managed', token_endpoint_auth_method: 'none' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    info = await res.json();
    assert.equal(info.client_secret, undefined, 'a public client gets no secret');
  });

  const call = (method, token, body) => fetch(info.registration_client_uri, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body && JSON.stringify(body),
  });

  test('read needs the right token, and names no other client', async () => {
    const ok = await call('GET', info.registration_access_token);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).client_name, 'Managed');
    const bad = await call('GET', 'wrong');
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /invalid_token/);
    const other = await fetch(`${server.origin}/register/not-a-client`, { headers: { authorization: `Bearer ${info.registration_access_token}` } });
    assert.equal(other.status, 401);
  });

  test('update replaces the metadata; delete removes the client', async () => {
    const up = await call('PUT', info.registration_access_token, {
      client_id: info.client_id, redirect_uris: ['https://rp.example.com/other'], client_name: 'Managed 2', token_endpoint_auth_method: 'none',
    });
    assert.equal(up.status, 200);
    const updated = await up.json();
    assert.deepEqual(updated.redirect_uris, ['https://rp.example.com/other']);
    assert.equal(updated.client_name, 'Managed 2');
    const del = await call('DELETE', info.registration_access_token);
    assert.equal(del.status, 204);
    assert.equal((await call('GET', info.registration_access_token)).status, 401);
  });
});
