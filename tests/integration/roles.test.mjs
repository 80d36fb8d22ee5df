// Roles as records of their own (issue 17), end to end through the management API in workerd:
// their lifecycle (create, describe, list with who uses them, rename, delete) and the promise
// that made them records: a typo in a user's roles or an application's access rules is refused
// where it is made, and a rename or deletion reaches everything that names the role (users,
// access rules, and the live grants and sessions behind tokens a client already holds: the
// `roles` claim of a refreshed ID token, userinfo). The built-in admin role may be described
// but neither renamed nor deleted; every change is in the audit log with who made it.
// Assertions read stored state back and verify tokens against the JWKS, not just statuses.
// The server is shared with other files: every role name here is unique to the run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar, allApplications, authorizeUrl, createApp, createUser, locationOf, managementApi, obtainCode, pkcePair,
  randomToken, request, tokenRequest,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://roles.example.com/cb';
const SCOPE = 'openid roles offline_access';
const api = (...args) => managementApi(server)(...args);

/** A role name no other test (or earlier run on the same database) uses. */
const unique = (prefix) => `${prefix}-${randomToken(6).replace(/[^A-Za-z0-9]/g, 'x')}`;

/** POST /roles that must succeed; returns the view. */
async function newRole(prefix, description) {
  const r = await api('POST', '/roles', { name: unique(prefix), ...(description === undefined ? {} : { description }) });
  assert.equal(r.status, 201, `create role: ${r.status} ${r.text}`);
  return r.json;
}

/** GET /roles/{name}: the view, or undefined on 404 (anything else fails). */
async function storedRole(name) {
  const r = await api('GET', `/roles/${name}`);
  if (r.status === 404) return undefined;
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function storedUser(id) {
  const r = await api('GET', `/users/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function storedApp(clientId) {
  const r = await api('GET', `/applications/${clientId}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

function assertRefused(r, status, error, says) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error, error, r.text);
  if (says) assert.match(r.json.error_description, says);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** An SPA (optionally with access rules) that can refresh. */
const spa = (access_rules) => createApp(server, {
  type: 'spa', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
  ...(access_rules ? { access_rules } : {}),
});

let jwks;
/** The ID token's claims, verified against the JWKS for `app`. */
async function idClaims(app, idToken) {
  jwks ??= createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(idToken, jwks, { issuer: server.origin, audience: app.client_id });
  return payload;
}

/** Signs `user` in to `app` (the session lands in `jar`) and redeems the code: the token response. */
async function signIn(app, user, { jar = new CookieJar(), scope = SCOPE } = {}) {
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  return t.json;
}

async function refresh(app, refreshToken) {
  const t = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: app.client_id });
  assert.equal(t.status, 200, t.text);
  return t.json;
}

async function userinfo(accessToken) {
  const r = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(r.status, 200);
  return r.json();
}

/** Polls until `probe()` returns something truthy (things written after a response). */
async function eventually(what, probe) {
  for (let i = 0; i < 50; i++) {
    const got = await probe();
    if (got) return got;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail(`never: ${what}`);
}

/**
 * The user's grants and sessions are indexed after the responses that start them; a change of
 * roles finds them there, so a test waits for both before renaming or deleting.
 */
const indexed = (user) => eventually(`the grant and session of ${user.id} indexed`, async () => {
  const [row] = await server.d1Query(`SELECT (SELECT count(*) FROM grants WHERE user_id = '${user.id}') AS g,
    (SELECT count(*) FROM login_sessions WHERE user_id = '${user.id}') AS s`);
  return row?.g >= 1 && row?.s >= 1;
});

/** The audit records of `event` about role `name` (at least one; polled). */
const auditOf = (event, name) => eventually(`${event} for ${name}`, async () => {
  const r = await api('GET', `/logs?event=${event}&limit=200`);
  assert.equal(r.status, 200, r.text);
  const mine = r.json.logs.filter((x) => x.detail?.role === name || x.detail?.renamed_from === name);
  return mine.length ? mine : undefined;
});

test('lifecycle: create, refuse duplicates and bad input, read one, list by name with who uses it', async () => {
  await server.ready;
  const before = Math.floor(Date.now() / 1000) - 5;
  const name = unique('auditor');
  const made = await api('POST', '/roles', { name, description: 'Reads the books' });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(Object.keys(made.json).sort(), ['applications', 'builtin', 'created_at', 'description', 'name', 'users']);
  assert.equal(made.json.name, name);
  assert.equal(made.json.description, 'Reads the books');
  assert.equal(made.json.builtin, false);
  assert.equal(made.json.users, 0);
  assert.deepEqual(made.json.applications, []);
  assert.ok(Number.isInteger(made.json.created_at) && made.json.created_at >= before, `created_at ${made.json.created_at}`);
  assert.deepEqual(await storedRole(name), made.json, 'GET /roles/{name} shows what POST answered');
  const bare = await newRole('bare');
  assert.equal(bare.description, '', 'no description: empty');

  assertRefused(await api('POST', '/roles', { name, description: 'second' }), 409, 'conflict');
  assert.equal((await storedRole(name)).description, 'Reads the books', 'the duplicate changed nothing');

  const badNames = ['', 'has space', 'x'.repeat(65), 'naïve', 'a/b', 42, null];
  for (const bad of badNames) {
    assertRefused(await api('POST', '/roles', { name: bad }), 400, 'invalid_request', /\bname\b/);
  }
  assertRefused(await api('POST', '/roles', { description: 'nameless' }), 400, 'invalid_request', /\bname\b/);
  const colour = unique('colour');
  assertRefused(await api('POST', '/roles', { name: colour, colour: 'red' }), 400, 'invalid_request', /colour/);
  assertRefused(await api('POST', '/roles', { name: colour, description: 3 }), 400, 'invalid_request', /description/);
  assertRefused(await api('POST', '/roles', { name: colour, description: 'd'.repeat(501) }), 400, 'invalid_request', /description/);
  assertRefused(await api('POST', '/roles', '["not an object"]'), 400, 'invalid_request');
  assert.equal(await storedRole(colour), undefined, 'a refused role is not stored');

  // Who uses it: two holders and one application's access rules.
  const holders = [await createUser(server, { roles: [name] }), await createUser(server, { roles: [name, bare.name] })];
  const app = await spa({ roles: [name] });
  const used = await storedRole(name);
  assert.equal(used.users, 2);
  assert.deepEqual(used.applications, [app.client_id]);
  assert.equal((await storedRole(bare.name)).users, 1);
  assert.deepEqual((await storedUser(holders[1].id)).roles, [name, bare.name]);

  const list = await api('GET', '/roles');
  assert.equal(list.status, 200, list.text);
  const names = list.json.roles.map((r) => r.name);
  assert.deepEqual(names, [...names].sort(), 'sorted by name');
  assert.equal(new Set(names).size, names.length, 'each role once');
  const admin = list.json.roles.find((r) => r.name === 'admin');
  assert.equal(admin?.builtin, true, 'admin is listed, built in');
  assert.ok(list.json.roles.filter((r) => r.name !== 'admin').every((r) => r.builtin === false));
  assert.deepEqual(list.json.roles.find((r) => r.name === name), used, 'the list shows what GET one does');
  assert.ok(names.includes(bare.name));
  for (const bad of badNames) assert.ok(!names.includes(bad), `${bad} was not stored`);

  // Describing changes the description only; a rename onto a taken name or a bad one is refused.
  const described = await api('PATCH', `/roles/${name}`, { description: 'Reads and signs the books' });
  assert.equal(described.status, 200, described.text);
  assert.deepEqual(described.json, { ...used, description: 'Reads and signs the books' });
  assert.deepEqual(await storedRole(name), described.json);
  assertRefused(await api('PATCH', `/roles/${name}`, { name: bare.name }), 409, 'conflict');
  assertRefused(await api('PATCH', `/roles/${name}`, { name: 'has space' }), 400, 'invalid_request', /\bname\b/);
  assertRefused(await api('PATCH', `/roles/${name}`, { colour: 'red' }), 400, 'invalid_request', /colour/);
  assert.deepEqual(await storedRole(name), described.json, 'refused changes changed nothing');
  assert.deepEqual((await storedUser(holders[0].id)).roles, [name]);
});

test('typos are caught where they are made: users and access rules take only roles that exist', async () => {
  await server.ready;
  const real = await newRole('real');
  const typo = unique('typo');
  const email = `typo-${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}@example.com`;

  const refusedUser = await api('POST', '/users', { email, password: `pw-${randomToken(12)}`, roles: [real.name, typo] });
  assertRefused(refusedUser, 400, 'invalid_request',
    new RegExp(`^roles: no such role: ${escape(typo)} \\(create roles first: POST /api/v1/roles\\)$`));
  const found = await api('GET', `/users?q=${encodeURIComponent(email)}`);
  assert.equal(found.status, 200, found.text);
  assert.deepEqual(found.json.users, [], 'no user stored');
  assert.equal(await storedRole(typo), undefined, 'the typo did not become a role');

  const user = await createUser(server, { roles: [real.name] });
  assertRefused(await api('PATCH', `/users/${user.id}`, { roles: [typo] }), 400, 'invalid_request',
    new RegExp(`^roles: no such role: ${escape(typo)}\\b`));
  assert.deepEqual((await storedUser(user.id)).roles, [real.name], 'the user kept their roles');

  const app = await spa({ roles: [real.name] });
  assertRefused(await api('PATCH', `/applications/${app.client_id}`, { access_rules: { roles: [typo] } }), 400,
    'invalid_request', new RegExp(`^access_rules\\.roles: no such role: ${escape(typo)}\\b`));
  assert.deepEqual((await storedApp(app.client_id)).access_rules.roles, [real.name], 'the rules are as they were');

  const appName = `Typo ${randomToken(4)}`;
  assertRefused(await api('POST', '/applications', {
    name: appName, type: 'spa', redirect_uris: [REDIRECT], access_rules: { roles: [typo] },
  }), 400, 'invalid_request', new RegExp(`access_rules\\.roles: no such role: ${escape(typo)}\\b`));
  assert.ok(!(await allApplications(server)).some((a) => a.name === appName), 'no application stored');
  assert.equal((await storedRole(real.name)).users, 1);
  assert.deepEqual((await storedRole(real.name)).applications, [app.client_id]);
});

test('a rename reaches the holders, their live tokens and sessions, and the access rules naming it', async () => {
  await server.ready;
  const old = await newRole('clerk', 'Files things');
  const kept = await newRole('kept');
  const renamed = unique('registrar');
  const user = await createUser(server, { roles: [old.name, kept.name] });
  const open = await spa();
  const ruled = await spa({ roles: [old.name] });

  const jar = new CookieJar();
  const t = await signIn(open, user, { jar });
  assert.deepEqual((await idClaims(open, t.id_token)).roles, [old.name, kept.name]);
  await indexed(user);

  const r = await api('PATCH', `/roles/${old.name}`, { name: renamed });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    ...old, name: renamed, description: 'Files things', users: 1, applications: [ruled.client_id],
  });
  assert.equal(await storedRole(old.name), undefined, 'the old name is gone');
  assert.deepEqual(await storedRole(renamed), r.json);

  // The tokens the client holds: userinfo at once, the refreshed ID token and its access token.
  assert.deepEqual((await userinfo(t.access_token)).roles, [renamed, kept.name], 'userinfo with the old access token');
  const r1 = await refresh(open, t.refresh_token);
  const claims = await idClaims(open, r1.id_token);
  assert.deepEqual(claims.roles, [renamed, kept.name]);
  assert.ok(!claims.roles.includes(old.name));
  assert.deepEqual((await userinfo(r1.access_token)).roles, [renamed, kept.name]);

  // Stored state: the user and the access rules.
  assert.deepEqual((await storedUser(user.id)).roles, [renamed, kept.name]);
  assert.deepEqual((await storedApp(ruled.client_id)).access_rules.roles, [renamed]);

  // The rules still admit the user: from the live session, and through the login form afresh.
  const fromSession = await signIn(ruled, user, { jar, scope: 'openid roles' });
  assert.deepEqual((await idClaims(ruled, fromSession.id_token)).roles, [renamed, kept.name], 'the session carries the new name');
  const afresh = await signIn(ruled, user, { scope: 'openid roles' });
  assert.deepEqual((await idClaims(ruled, afresh.id_token)).roles, [renamed, kept.name]);
  // ...and a user without it is still kept out: the rename did not open the application.
  const outsider = await createUser(server, { roles: [kept.name] });
  const outsiderJar = new CookieJar();
  await obtainCode(server, { app: open, redirectUri: REDIRECT, jar: outsiderJar, user: outsider });
  const denied = await request(authorizeUrl(server, {
    response_type: 'code', client_id: ruled.client_id, redirect_uri: REDIRECT, scope: 'openid', prompt: 'none',
    state: 's', code_challenge: pkcePair().challenge, code_challenge_method: 'S256',
  }), { jar: outsiderJar });
  await denied.arrayBuffer();
  const back = locationOf(denied, server.origin);
  assert.equal(back.searchParams.get('error'), 'access_denied', `${back}`);
  assert.equal(back.searchParams.get('code'), null);
});

test('a deletion is refused while access rules name the role, then takes it from its users and their tokens', async () => {
  await server.ready;
  const doomed = await newRole('temp');
  const kept = await newRole('stays');
  const user = await createUser(server, { roles: [kept.name, doomed.name] });
  const open = await spa();
  const ruled = await spa({ roles: [doomed.name, kept.name] });
  const t = await signIn(open, user);
  assert.deepEqual((await idClaims(open, t.id_token)).roles, [kept.name, doomed.name]);
  await indexed(user);

  assertRefused(await api('DELETE', `/roles/${doomed.name}`), 409, 'conflict', new RegExp(escape(ruled.client_id)));
  const still = await storedRole(doomed.name);
  assert.equal(still?.users, 1, 'refused: the role and its holder are as they were');
  assert.deepEqual(still.applications, [ruled.client_id]);
  assert.deepEqual((await storedUser(user.id)).roles, [kept.name, doomed.name]);
  assert.deepEqual((await storedApp(ruled.client_id)).access_rules.roles, [doomed.name, kept.name]);
  const before = await refresh(open, t.refresh_token);
  assert.deepEqual((await idClaims(open, before.id_token)).roles, [kept.name, doomed.name], 'nor the live grant');

  const opened = await api('PATCH', `/applications/${ruled.client_id}`, { access_rules: { roles: [kept.name] } });
  assert.equal(opened.status, 200, opened.text);
  assert.deepEqual((await storedRole(doomed.name)).applications, []);
  const gone = await api('DELETE', `/roles/${doomed.name}`);
  assert.equal(gone.status, 204, gone.text);
  assert.equal(gone.text, '');

  assert.equal(await storedRole(doomed.name), undefined);
  assertRefused(await api('GET', `/roles/${doomed.name}`), 404, 'not_found');
  assert.ok(!(await api('GET', '/roles')).json.roles.some((r) => r.name === doomed.name), 'not listed');
  assert.deepEqual((await storedUser(user.id)).roles, [kept.name], 'taken from its user');
  assert.deepEqual((await storedApp(ruled.client_id)).access_rules.roles, [kept.name]);
  // The grant heard of it: userinfo at once, and a refresh token issued before the deletion
  // mints ID tokens without it.
  assert.deepEqual((await userinfo(before.access_token)).roles, [kept.name], 'userinfo at once');
  const after = await refresh(open, before.refresh_token ?? t.refresh_token);
  const claims = await idClaims(open, after.id_token);
  assert.deepEqual(claims.roles, [kept.name]);
  assert.deepEqual((await userinfo(after.access_token)).roles, [kept.name]);
  // A deleted role cannot be given any more.
  assertRefused(await api('PATCH', `/users/${user.id}`, { roles: [doomed.name] }), 400, 'invalid_request', /no such role/);
});

test('the built-in admin role may be described but not renamed or deleted', async () => {
  await server.ready;
  const admin = await storedRole('admin');
  assert.equal(admin?.builtin, true);
  const other = unique('root');
  assertRefused(await api('PATCH', '/roles/admin', { name: other }), 400, 'invalid_request', /\bname\b/);
  assertRefused(await api('PATCH', '/roles/admin', { name: other, description: 'sneaky' }), 400, 'invalid_request');
  assertRefused(await api('DELETE', '/roles/admin'), 400, 'invalid_request', /admin/);
  assert.deepEqual(await storedRole('admin'), admin, 'admin is as it was');
  assert.equal(await storedRole(other), undefined);

  const text = `Dashboard and management API (${randomToken(3)})`;
  try {
    const d = await api('PATCH', '/roles/admin', { description: text });
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json, { ...admin, description: text });
    assert.deepEqual(await storedRole('admin'), d.json);
    const same = await api('PATCH', '/roles/admin', { name: 'admin' });
    assert.equal(same.status, 200, 'naming it what it is called is no rename');
  } finally {
    await api('PATCH', '/roles/admin', { description: admin.description });
  }
});

test('every change of a role is in the audit log with who made it', async () => {
  await server.ready;
  const role = await newRole('logged');
  const renamed = unique('relogged');
  await createUser(server, { roles: [role.name] });
  assert.equal((await api('PATCH', `/roles/${role.name}`, { name: renamed, description: 'x' })).status, 200);
  assert.equal((await api('DELETE', `/roles/${renamed}`)).status, 204);

  const [created] = await auditOf('role.created', role.name);
  assert.equal(created.event, 'role.created');
  assert.equal(created.detail.by, 'admin_token');
  const [updated] = await auditOf('role.updated', role.name);
  assert.equal(updated.detail.renamed_from, role.name);
  assert.equal(updated.detail.role, renamed);
  assert.equal(updated.detail.users, 1);
  assert.equal(updated.detail.by, 'admin_token');
  const [deleted] = await auditOf('role.deleted', renamed);
  assert.equal(deleted.detail.users, 1);
  assert.equal(deleted.detail.by, 'admin_token');
});

test('methods: PUT is 405 with Allow; an unknown role is 404 to GET, PATCH and DELETE', async () => {
  await server.ready;
  const put = await fetch(`${server.origin}/api/v1/roles`, {
    method: 'PUT', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('allow'), 'GET, POST');
  const role = await newRole('methods');
  const putOne = await api('PUT', `/roles/${role.name}`, { name: unique('x') });
  assert.equal(putOne.status, 405, putOne.text);
  assert.equal(putOne.headers.get('allow'), 'GET, PATCH, DELETE');
  assert.deepEqual(await storedRole(role.name), role, 'PUT changed nothing');

  const nobody = unique('nobody');
  assertRefused(await api('GET', `/roles/${nobody}`), 404, 'not_found');
  assertRefused(await api('PATCH', `/roles/${nobody}`, { description: 'x' }), 404, 'not_found');
  assertRefused(await api('PATCH', `/roles/${nobody}`, { name: unique('y') }), 404, 'not_found');
  assertRefused(await api('DELETE', `/roles/${nobody}`), 404, 'not_found');
  assert.equal(await storedRole(nobody), undefined, 'PATCH made nothing');
  const noToken = await api('GET', '/roles', undefined, { token: null });
  assert.equal(noToken.status, 401, 'the management API wants a token');
});
