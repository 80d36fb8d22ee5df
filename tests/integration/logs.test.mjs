// No secret, password or token in any log line (issue 5) or audit record (issue 7). The server runs with wrangler's most
// verbose logging, goes through every flow that handles a secret (login, failed login, code
// exchange, refresh, introspection, revocation, userinfo, logout, secret rotation, user
// creation), then through a storage failure that makes the Worker log an internal error while
// a code and a client secret are in flight. Every secret seen on the wire is then searched for
// in everything the server printed.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  basicAuth,
  createApp,
  createUser,
  inputValues,
  managementApi,
  obtainCode,
  request,
  tokenRequest,
} from './helpers.mjs';

// A server of its own: the test drops a table, which would break any file after it.
const server = useServer({ logLevel: 'debug', isolated: true });
const REDIRECT = 'https://logs.example.com/cb';
const secrets = new Map(); // label -> value

const keep = (label, value) => {
  assert.ok(typeof value === 'string' && value.length >= 8, `${label} is a real secret`);
  secrets.set(label, value);
};

let app;
let user;

before(async () => {
  await server.ready;
  keep('admin token', server.adminToken);
  user = await createUser(server, { password: 'correct horse battery staple 42' });
  keep('password', user.password);
  app = await createApp(server, { type: 'traditional', redirect_uris: [REDIRECT] });
  keep('client secret', app.client_secret);
});

const exchange = (code, verifier, secret = app.client_secret) =>
  tokenRequest(
    server,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
    { headers: { authorization: basicAuth(app.client_id, secret) } },
  );

test('every flow that handles a secret, and an internal error, log none of them', { timeout: 120_000 }, async () => {
  const api = managementApi(server);

  // A failed login with a wrong password (logged nowhere, even as a failure).
  const wrongPassword = 'wrong password that must not be logged';
  keep('wrong password', wrongPassword);
  const probe = await request(
    `${server.origin}/authorize?response_type=code&client_id=${app.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid&code_challenge=${'c'.repeat(43)}&code_challenge_method=S256`,
  );
  const hidden = inputValues(await probe.text());
  const jarFail = new CookieJar();
  jarFail.update(probe);
  keep('csrf token', hidden.csrf_token);
  const failed = await request(`${server.origin}/login`, {
    jar: jarFail,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: user.email, password: wrongPassword, csrf_token: hidden.csrf_token, auth_request: hidden.auth_request }),
  });
  await failed.arrayBuffer();
  assert.equal(failed.status, 401);

  // The whole code flow with a confidential client, offline_access for a refresh token.
  const jar = new CookieJar();
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid email offline_access' });
  keep('authorization code', code);
  keep('code verifier', verifier);
  for (const [name, value] of jar.cookies) keep(`cookie ${name}`, value);
  const tokens = await exchange(code, verifier);
  assert.equal(tokens.status, 200, tokens.text);
  keep('access token', tokens.json.access_token);
  keep('id token', tokens.json.id_token);
  keep('refresh token', tokens.json.refresh_token);
  // A replayed code (which revokes the grant) and a wrong secret: error paths.
  assert.equal((await exchange(code, verifier)).status, 400);
  const badSecret = `${app.client_secret}x`;
  assert.equal((await exchange(code, verifier, badSecret)).status, 401);

  const { code: code2, verifier: verifier2 } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid offline_access' });
  const second = await exchange(code2, verifier2);
  assert.equal(second.status, 200, second.text);
  keep('second access token', second.json.access_token);
  keep('second refresh token', second.json.refresh_token);
  const refreshed = await tokenRequest(
    server,
    { grant_type: 'refresh_token', refresh_token: second.json.refresh_token },
    { headers: { authorization: basicAuth(app.client_id, app.client_secret) } },
  );
  assert.equal(refreshed.status, 200, refreshed.text);
  keep('refreshed access token', refreshed.json.access_token);
  if (refreshed.json.refresh_token) keep('rotated refresh token', refreshed.json.refresh_token);

  const userinfo = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${refreshed.json.access_token}` } });
  assert.equal(userinfo.status, 200);
  for (const path of ['/introspect', '/revoke']) {
    const r = await fetch(`${server.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(app.client_id, app.client_secret) },
      body: new URLSearchParams({ token: refreshed.json.refresh_token ?? second.json.refresh_token }),
    });
    assert.equal(r.status, 200, `${path}: ${r.status}`);
  }

  // Management actions that return or take secrets.
  const rotated = await api('POST', `/applications/${app.client_id}/rotate-secret`, { grace_period_seconds: 600 });
  assert.equal(rotated.status, 200, rotated.text);
  keep('rotated client secret', rotated.json.client_secret);
  const other = await createUser(server);
  keep('second password', other.password);

  // RP-initiated logout with the ID token as hint (POSTed, as an RP that keeps it out of URLs).
  const logout = await request(`${server.origin}/logout`, {
    jar,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id_token_hint: tokens.json.id_token }),
  });
  await logout.arrayBuffer();
  assert.ok(logout.status < 400, `logout: ${logout.status}`);

  // A storage failure mid-request: the Worker logs the internal error while a refresh token
  // and a client secret are in flight, and answers without them. A refresh token of the
  // form D1 stored before grants moved to Durable Objects is looked up in refresh_tokens,
  // which is gone.
  const legacyToken = 'L'.repeat(10) + 'egacyRefreshTokenThatMustNotBeLogged';
  keep('legacy refresh token', legacyToken);
  await server.d1Query('DROP TABLE refresh_tokens');
  const broken = await tokenRequest(
    server,
    { grant_type: 'refresh_token', refresh_token: legacyToken },
    { headers: { authorization: basicAuth(app.client_id, rotated.json.client_secret) } },
  );
  // A storage outage is temporarily_unavailable (503), per issue 5.
  assert.equal(broken.status, 503, broken.text);
  assert.equal(broken.json.error, 'temporarily_unavailable');
  assert.doesNotMatch(broken.json.error_description, /refresh_tokens|SQL|D1/i, 'no internals in the response');

  // Let the last lines reach the harness, then search everything the server printed.
  await new Promise((r) => setTimeout(r, 1500));
  const output = server.output();
  // The log is real: the internal error was logged (with its detail), and requests were too.
  assert.match(output, /refresh_tokens/, 'the storage error was logged');
  assert.match(output, /POST \/token/, 'wrangler logged requests at this level');
  for (const [label, value] of secrets) {
    assert.ok(!output.includes(value), `the ${label} appears in the server output`);
    // Also in the encodings a log line might use.
    assert.ok(!output.includes(encodeURIComponent(value)), `the ${label} (URL-encoded) appears in the server output`);
  }
  assert.ok(!output.includes(basicAuth(app.client_id, app.client_secret).slice(6)), 'a Basic credential appears');

  // The audit log (issue 7) recorded these flows, and holds none of the secrets either.
  const rows = await server.d1Query('SELECT * FROM audit_log');
  const events = new Set(rows.map((r) => r.event));
  for (const e of ['user.created', 'application.created', 'login.failed', 'login.succeeded', 'token.issued',
    'code.replayed', 'client_auth.failed', 'application.secret_rotated']) {
    assert.ok(events.has(e), `the audit log has ${e}: ${[...events]}`);
  }
  const dump = JSON.stringify(rows);
  for (const [label, value] of secrets) {
    assert.ok(!dump.includes(value), `the ${label} appears in the audit log`);
  }
});
