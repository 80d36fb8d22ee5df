// The dashboard's sign-in and the user management behind it (issue 8), in workerd:
// /admin/config creates the dashboard's application; the `admin` scope reaches only admins
// through that application; the management API takes such a token (and stops taking it
// when the user is demoted or disabled); users are listed, searched, paged, updated,
// disabled (which ends their logins, sessions, refresh tokens) and enabled again.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  assertLoginForm,
  authorizeUrl,
  createApp,
  createUser,
  isRedirect,
  locationOf,
  managementApi,
  obtainCode,
  pkcePair,
  randomToken,
  request,
  tokenRequest,
} from './helpers.mjs';

const server = useServer();

async function dashboardConfig() {
  const res = await fetch(`${server.origin}/admin/config`);
  assert.equal(res.status, 200);
  return res.json();
}

/** Signs `user` in to the dashboard's application; returns the token response. */
async function dashboardTokens(user, jar = new CookieJar()) {
  const config = await dashboardConfig();
  const app = { client_id: config.client_id };
  const { code, verifier } = await obtainCode(server, {
    app,
    redirectUri: config.redirect_uri,
    jar,
    user,
    scope: config.scope,
  });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: config.redirect_uri,
    client_id: config.client_id,
    code_verifier: verifier,
  });
  assert.equal(t.status, 200, t.text);
  return t.json;
}

test('/admin/config describes the built-in dashboard application, which the API will not change', async () => {
  await server.ready;
  const config = await dashboardConfig();
  assert.equal(config.issuer, server.origin);
  assert.equal(config.client_id, 'edge-oidc-admin');
  assert.equal(config.redirect_uri, `${server.origin}/admin/`);
  assert.ok(config.scope.split(' ').includes('admin'));
  assert.deepEqual(await dashboardConfig(), config, 'idempotent');

  const api = managementApi(server);
  const app = await api('GET', `/applications/${config.client_id}`);
  assert.equal(app.status, 200, app.text);
  assert.equal(app.json.type, 'spa');
  assert.deepEqual(app.json.redirect_uris, [`${server.origin}/admin/`]);
  for (const [method, path, body] of [
    ['PATCH', `/applications/${config.client_id}`, { redirect_uris: ['https://evil.example/'] }],
    ['DELETE', `/applications/${config.client_id}`, undefined],
    ['POST', `/applications/${config.client_id}/rotate-secret`, {}],
  ]) {
    const r = await api(method, path, body);
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
    assert.equal(r.json.error, 'invalid_request');
  }
  assert.deepEqual((await api('GET', `/applications/${config.client_id}`)).json.redirect_uris, [
    `${server.origin}/admin/`,
  ]);
});

test('the admin scope reaches only admins, only through the dashboard, and opens the management API', async () => {
  await server.ready;
  const admin = await createUser(server, { roles: ['admin'] });
  assert.deepEqual(admin.roles, ['admin']);
  const plain = await createUser(server);

  const adminTokens = await dashboardTokens(admin);
  assert.ok(adminTokens.scope.split(' ').includes('admin'), adminTokens.scope);
  const plainTokens = await dashboardTokens(plain);
  assert.ok(!plainTokens.scope.split(' ').includes('admin'), plainTokens.scope);

  // Another application asking for admin gets a grant without it.
  const other = await createApp(server, { type: 'spa', redirect_uris: ['https://spa.example/cb'] });
  const jar = new CookieJar();
  const { code, verifier } = await obtainCode(server, {
    app: other,
    redirectUri: 'https://spa.example/cb',
    jar,
    user: admin,
    scope: 'openid admin',
  });
  const otherTokens = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: 'https://spa.example/cb',
    client_id: other.client_id,
    code_verifier: verifier,
  });
  assert.equal(otherTokens.status, 200, otherTokens.text);
  assert.equal(otherTokens.json.scope, 'openid');

  const api = managementApi(server);
  const listed = await api('GET', '/users', undefined, { token: adminTokens.access_token });
  assert.equal(listed.status, 200, listed.text);
  assert.ok(listed.json.users.some((u) => u.id === admin.id));
  for (const token of [plainTokens.access_token, otherTokens.json.access_token]) {
    const r = await api('GET', '/applications', undefined, { token });
    assert.ok(r.status === 401 || r.status === 403, `${r.status} ${r.text}`);
    assert.match(r.headers.get('www-authenticate') ?? '', /Bearer/);
  }

  // Roles are read on every call: a demoted admin's token stops working at once.
  const demoted = await api('PATCH', `/users/${admin.id}`, { roles: [] });
  assert.equal(demoted.status, 200, demoted.text);
  const after = await api('GET', '/users', undefined, { token: adminTokens.access_token });
  assert.equal(after.status, 403, after.text);
  assert.equal(after.json.error, 'insufficient_scope');
});

test('actions through a dashboard token are audited with the administrator who did them', async () => {
  await server.ready;
  const admin = await createUser(server, { roles: ['admin'] });
  const tokens = await dashboardTokens(admin);
  const api = managementApi(server);
  const target = await createUser(server);
  const r = await api('PATCH', `/users/${target.id}`, { name: 'Renamed' }, { token: tokens.access_token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'Renamed');
  let record;
  for (let i = 0; i < 40 && !record; i++) {
    const logs = await api('GET', `/logs?user_id=${target.id}&event=user.updated`);
    record = logs.json?.logs?.[0];
    if (!record) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(record, 'a user.updated record');
  assert.equal(record.detail.by, `user:${admin.id}`);
  assert.equal(record.detail.fields, 'name');
});

test('users are listed newest first, searched and paged', async () => {
  await server.ready;
  const api = managementApi(server);
  const tag = randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const made = [];
  for (let i = 0; i < 3; i++) {
    made.push(await createUser(server, { email: `list-${tag}-${i}@example.com`, name: `Lister ${tag} ${i}` }));
  }
  const page1 = await api('GET', `/users?q=${tag}&limit=2`);
  assert.equal(page1.status, 200, page1.text);
  assert.equal(page1.json.users.length, 2);
  assert.ok(page1.json.next_cursor);
  const page2 = await api('GET', `/users?q=${tag}&limit=2&cursor=${encodeURIComponent(page1.json.next_cursor)}`);
  assert.equal(page2.json.users.length, 1);
  assert.equal(page2.json.next_cursor, null);
  const ids = [...page1.json.users, ...page2.json.users].map((u) => u.id);
  assert.deepEqual(new Set(ids), new Set(made.map((u) => u.id)));
  for (const u of [...page1.json.users, ...page2.json.users]) assert.equal(u.password_hash, undefined);
  const byName = await api('GET', `/users?q=${encodeURIComponent(`LISTER ${tag} 1`)}`);
  assert.deepEqual(byName.json.users.map((u) => u.id), [made[1].id]);
  const bad = await api('GET', '/users?limit=500');
  assert.equal(bad.status, 400);
  const unknown = await api('PATCH', '/users/nobody', { name: 'x' });
  assert.equal(unknown.status, 404);
  const badField = await api('PATCH', `/users/${made[0].id}`, { email: 'x@example.com' });
  assert.equal(badField.status, 400);
});

test('a disabled user cannot log in, and their session, refresh tokens and access tokens stop working', async () => {
  await server.ready;
  const api = managementApi(server);
  const redirectUri = 'https://rp.example/cb';
  const app = await createApp(server, {
    type: 'spa',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  const user = await createUser(server);
  const jar = new CookieJar();
  const { code, verifier } = await obtainCode(server, {
    app,
    redirectUri,
    jar,
    user,
    scope: 'openid offline_access',
  });
  const tokens = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: app.client_id,
    code_verifier: verifier,
  });
  assert.equal(tokens.status, 200, tokens.text);
  assert.ok(tokens.json.refresh_token);

  const disabled = await api('PATCH', `/users/${user.id}`, { disabled: true });
  assert.equal(disabled.status, 200, disabled.text);
  assert.equal(disabled.json.disabled, true);

  // The browser still sends the session cookie, but the session was ended: no code, and
  // prompt=none says the user must log in.
  const { challenge } = pkcePair();
  const again = await request(
    authorizeUrl(server, {
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: redirectUri,
      scope: 'openid',
      state: 's1',
      prompt: 'none',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
    { jar },
  );
  assert.ok(isRedirect(again.status), `authorize: ${again.status}`);
  const back = locationOf(again, server.origin);
  assert.equal(back.searchParams.get('error'), 'login_required', String(back));
  assert.equal(back.searchParams.get('code'), null);

  const refreshed = await tokenRequest(server, {
    grant_type: 'refresh_token',
    refresh_token: tokens.json.refresh_token,
    client_id: app.client_id,
  });
  assert.equal(refreshed.status, 400, refreshed.text);
  assert.equal(refreshed.json.error, 'invalid_grant');

  const info = await fetch(`${server.origin}/userinfo`, {
    headers: { authorization: `Bearer ${tokens.json.access_token}` },
  });
  assert.equal(info.status, 401);

  // The login form says so (with the right password only) and starts no session.
  const freshJar = new CookieJar();
  const page = await request(
    authorizeUrl(server, {
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
    { jar: freshJar },
  );
  const hidden = assertLoginForm(await page.text());
  const login = await request(new URL('/login', server.origin), {
    jar: freshJar,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      email: user.email,
      password: user.password,
      csrf_token: hidden.csrf_token,
      auth_request: hidden.auth_request,
    }),
  });
  const loginHtml = await login.text();
  assert.equal(login.status, 403, loginHtml.slice(0, 300));
  assert.match(loginHtml, /disabled/);

  // Enabled again: the password works as before.
  const enabled = await api('PATCH', `/users/${user.id}`, { disabled: false });
  assert.equal(enabled.json.disabled, false);
  const relogin = await obtainCode(server, { app, redirectUri, jar: new CookieJar(), user });
  assert.ok(relogin.code);
});

test('an administrator resets a password: the old one stops working, the new one works', async () => {
  await server.ready;
  const api = managementApi(server);
  const app = await createApp(server, { type: 'spa', redirect_uris: ['https://rp.example/cb'] });
  const user = await createUser(server);
  const fresh = `new-${randomToken(10)}`;
  const reset = await api('PATCH', `/users/${user.id}`, { password: fresh });
  assert.equal(reset.status, 200, reset.text);
  const ok = await obtainCode(server, {
    app,
    redirectUri: 'https://rp.example/cb',
    jar: new CookieJar(),
    user: { ...user, password: fresh },
  });
  assert.ok(ok.code);
  await assert.rejects(
    obtainCode(server, { app, redirectUri: 'https://rp.example/cb', jar: new CookieJar(), user }),
    /POST \/login: 401/,
  );
});
