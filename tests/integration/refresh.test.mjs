// Refresh tokens in workerd: issuance, rotation, reuse detection, concurrency, scope
// narrowing (RFC 6749 §6, RFC 9700 §4.14.2), partly through openid-client.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  basicAuth,
  createApp,
  createUser,
  tokenRequest,
  obtainCode,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://refresh.example.com/cb';
let user;
let jar;

before(async () => {
  await server.ready;
  user = await createUser(server);
  jar = new CookieJar();
});

/** Runs the code flow for `app` with `scope` and exchanges the code; returns the token response. */
async function tokensFor(app, scope, auth = {}) {
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT,
    code_verifier: verifier, ...(auth.secret ? {} : { client_id: app.client_id }),
  }, { headers: auth.secret ? { authorization: basicAuth(app.client_id, auth.secret) } : {} });
  assert.equal(t.status, 200, t.text);
  return t.json;
}

const refresh = (app, token, extra = {}, auth = {}) => tokenRequest(server, {
  grant_type: 'refresh_token', refresh_token: token, ...(auth.secret ? {} : { client_id: app.client_id }), ...extra,
}, { headers: auth.secret ? { authorization: basicAuth(app.client_id, auth.secret) } : {} });

test('offline_access gives an SPA a refresh token; each use rotates it; reuse revokes the grant', async () => {
  const spa = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const t0 = await tokensFor(spa, 'openid email offline_access');
  assert.ok(t0.refresh_token, 'a refresh token with offline_access');
  const r1 = await refresh(spa, t0.refresh_token);
  assert.equal(r1.status, 200, r1.text);
  assert.equal(r1.headers.get('cache-control'), 'no-store');
  assert.ok(r1.json.refresh_token && r1.json.refresh_token !== t0.refresh_token, 'rotated');
  assert.ok(r1.json.id_token, 'an ID token on refresh');
  const claims = JSON.parse(Buffer.from(r1.json.id_token.split('.')[1], 'base64url'));
  assert.equal(claims.sub, user.id);
  assert.equal(claims.nonce, undefined, 'no nonce in a refreshed ID token');

  const reuse = await refresh(spa, t0.refresh_token);
  assert.equal(reuse.status, 400);
  assert.equal(reuse.json.error, 'invalid_grant');
  const after = await refresh(spa, r1.json.refresh_token);
  assert.equal(after.status, 400, 'the newest token died with the grant');
});

test('20 parallel refreshes with one token: exactly one succeeds, and the rest are reuse', async () => {
  const spa = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const t0 = await tokensFor(spa, 'openid offline_access');
  const results = await Promise.all(Array.from({ length: 20 }, () => refresh(spa, t0.refresh_token)));
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses ${results.map((r) => r.status)}`);
  assert.ok(results.filter((r) => r.status !== 200).every((r) => r.json?.error === 'invalid_grant'));
  // The grant's object handled them one at a time: after the winner rotated the token,
  // the others presented a rotated-out token, which is reuse (RFC 9700 §4.14.2), so the
  // grant ended and the winner's successor with it.
  const successor = await refresh(spa, ok[0].json.refresh_token);
  assert.equal(successor.status, 400, successor.text);
  assert.equal(successor.json.error, 'invalid_grant');
});

test('confidential clients: no refresh token without offline_access unless always; no rotation early', async () => {
  const web = await createApp(server, { type: 'traditional', redirect_uris: [REDIRECT] });
  const plain = await tokensFor(web, 'openid', { secret: web.client_secret });
  assert.equal(plain.refresh_token, undefined);
  const always = await createApp(server, {
    type: 'traditional', redirect_uris: [REDIRECT], token_settings: { always_issue_refresh_token: true },
  });
  const t = await tokensFor(always, 'openid email', { secret: always.client_secret });
  assert.ok(t.refresh_token);
  for (let i = 0; i < 2; i++) {
    const r = await refresh(always, t.refresh_token, {}, { secret: always.client_secret });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.refresh_token, undefined, 'early in its life the token is kept, not rotated');
  }
  const wrongClient = await refresh(web, t.refresh_token, {}, { secret: web.client_secret });
  assert.equal(wrongClient.status, 400);
  assert.equal(wrongClient.json.error, 'invalid_grant');
});

test('scope narrows on refresh, never widens; no refresh_token grant means none', async () => {
  const spa = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const t = await tokensFor(spa, 'openid email offline_access');
  const narrow = await refresh(spa, t.refresh_token, { scope: 'openid' });
  assert.equal(narrow.status, 200, narrow.text);
  assert.equal(narrow.json.scope, 'openid');
  const wide = await refresh(spa, narrow.json.refresh_token, { scope: 'openid profile' });
  assert.equal(wide.status, 400);
  assert.equal(wide.json.error, 'invalid_scope');

  const noGrant = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT], grant_types: ['authorization_code'] });
  const t2 = await tokensFor(noGrant, 'openid offline_access');
  assert.equal(t2.refresh_token, undefined);
  const r = await refresh(noGrant, 'anything');
  assert.equal(r.json.error, 'unauthorized_client');
});

test('openid-client refreshes with the rotated token', async () => {
  const spa = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const t = await tokensFor(spa, 'openid email offline_access');
  const config = await client.discovery(new URL(server.origin), spa.client_id, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const refreshed = await client.refreshTokenGrant(config, t.refresh_token);
  assert.ok(refreshed.access_token);
  assert.equal(refreshed.claims().sub, user.id);
  const again = await client.refreshTokenGrant(config, refreshed.refresh_token);
  assert.ok(again.refresh_token);
  const info = await client.fetchUserInfo(config, again.access_token, user.id);
  assert.equal(info.email, user.email);
});

test('a replayed code revokes the refresh token its first use gave out (RFC 6749 §4.1.2)', async () => {
  const spa = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const { code, verifier } = await obtainCode(server, { app: spa, redirectUri: REDIRECT, jar, user, scope: 'openid offline_access' });
  const exchange = () => tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.client_id,
  });
  const first = await exchange();
  assert.equal(first.status, 200, first.text);
  assert.ok(first.json.refresh_token);
  const replay = await exchange();
  assert.equal(replay.status, 400);
  assert.equal(replay.json.error, 'invalid_grant');
  const r = await refresh(spa, first.json.refresh_token);
  assert.equal(r.status, 400, 'the refresh token from the first use is revoked');
  assert.equal(r.json.error, 'invalid_grant');
});
