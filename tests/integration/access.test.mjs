// Who may use an application (issue 17): per application required roles, allowed countries
// (the country Cloudflare reports; the test build takes X-Test-Country instead) and allowed
// email domains. A refused user sees a page naming the application and no code leaves;
// prompt=none gets access_denied at the redirect URI; a refresh after the user lost the
// role is refused and ends the grant; every refusal is in the audit log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar, assertLoginForm, authorizeUrl, basicAuth, createApp, createUser, ensureRoles, locationOf, managementApi,
  obtainCode, pkcePair, randomToken, request, tokenRequest,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://access.example.com/cb';

const ruled = async (rules, name = `Ruled ${randomToken(3)}`) => {
  await ensureRoles(server, Array.isArray(rules.roles) ? rules.roles : []);
  return createApp(server, {
    name, type: 'traditional', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
    access_rules: rules,
  });
};

/** The login form for `app`, submitted as `user`, from `country`: the answer to POST /login. */
async function signIn(app, user, { jar = new CookieJar(), country, extra = {} } = {}) {
  const headers = country ? { 'x-test-country': country } : {};
  const url = authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid offline_access',
    state: randomToken(), code_challenge: pkcePair().challenge, code_challenge_method: 'S256', ...extra,
  });
  const page = await request(url, { jar, headers });
  const hidden = assertLoginForm(await page.text());
  const res = await request(new URL('/login', server.origin), {
    jar, method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: user.email, password: user.password, csrf_token: hidden.csrf_token, auth_request: hidden.auth_request }),
  });
  return { res, html: await res.text() };
}

function assertRefusedPage({ res, html }, app, says) {
  assert.equal(res.status, 403, html.slice(0, 400));
  assert.equal(res.headers.get('location'), null, 'no redirect, so no code');
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.ok(html.includes(app.name), 'the page names the application');
  assert.match(html, says);
}

async function auditFor(app, user) {
  const api = managementApi(server);
  for (let i = 0; i < 50; i++) {
    const r = await api('GET', `/logs?event=login.access_refused&client_id=${app.client_id}`);
    assert.equal(r.status, 200, r.text);
    const mine = r.json.logs.filter((x) => x.user_id === user.id);
    if (mine.length) return mine;
    await new Promise((ok) => setTimeout(ok, 100)); // written after the response
  }
  assert.fail('no login.access_refused record');
}

test('required roles: refused without one, a code with one; prompt=none gets access_denied; audited', async () => {
  await server.ready;
  const app = await ruled({ roles: ['hr', 'legal'] });
  const outsider = await createUser(server);
  assertRefusedPage(await signIn(app, outsider), app, /role this application requires/);
  const [record] = await auditFor(app, outsider);
  assert.equal(record.detail.rule, 'role');

  // Signed in elsewhere (an open application), prompt=none here is access_denied at the client.
  const open = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const jar = new CookieJar();
  await obtainCode(server, { app: open, redirectUri: REDIRECT, jar, user: outsider });
  const state = randomToken();
  const res = await request(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid', state, prompt: 'none',
  }), { jar });
  const back = locationOf(res, server.origin);
  assert.equal(back.origin + back.pathname, REDIRECT);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), state);
  assert.equal(back.searchParams.get('code'), null);

  const officer = await createUser(server, { roles: ['hr'] });
  const { res: ok } = await signIn(app, officer);
  assert.equal(ok.status, 303);
  assert.ok(locationOf(ok, server.origin).searchParams.get('code'), 'a code for the HR officer');
});

test('a user who loses the role cannot refresh, and the grant ends', async () => {
  await server.ready;
  const api = managementApi(server);
  const app = await ruled({ roles: ['hr'] });
  const officer = await createUser(server, { roles: ['hr'] });
  const { code, verifier } = await obtainCode(server, {
    app, redirectUri: REDIRECT, jar: new CookieJar(), user: officer, scope: 'openid offline_access',
  });
  const auth = { headers: { authorization: basicAuth(app.client_id, app.client_secret) } };
  const t = await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, auth);
  assert.equal(t.status, 200, t.text);
  let refresh = t.json.refresh_token;
  const r1 = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refresh }, auth);
  assert.equal(r1.status, 200, r1.text);
  refresh = r1.json.refresh_token ?? refresh;

  const demoted = await api('PATCH', `/users/${officer.id}`, { roles: [] });
  assert.equal(demoted.status, 200, demoted.text);
  const r2 = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refresh }, auth);
  assert.equal(r2.status, 400, r2.text);
  assert.equal(r2.json.error, 'invalid_grant');
  assert.match(r2.json.error_description, /role/);
  await api('PATCH', `/users/${officer.id}`, { roles: ['hr'] });
  const r3 = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refresh }, auth);
  assert.equal(r3.json?.error, 'invalid_grant', 'the grant stays revoked');
  const [record] = await auditFor(app, officer);
  assert.equal(record.detail.rule, 'role');
});

test('allowed countries and email domains', async () => {
  await server.ready;
  const us = await ruled({ countries: ['US'] });
  const user = await createUser(server);
  assertRefusedPage(await signIn(us, user, { country: 'FR' }), us, /not available in your country/);
  const { res } = await signIn(us, user, { country: 'US' });
  assert.equal(res.status, 303);
  assert.ok(locationOf(res, server.origin).searchParams.get('code'));

  const corp = await ruled({ email_domains: ['corp.example'] });
  assertRefusedPage(await signIn(corp, user), corp, /email domain/);
  const staff = await createUser(server, { email: `staff-${randomToken(4).toLowerCase()}@corp.example` });
  assert.equal((await signIn(corp, staff)).res.status, 303);
});

test('the management API keeps the rules and names a bad one by its path', async () => {
  await server.ready;
  const api = managementApi(server);
  const app = await ruled({ roles: ['hr'], countries: ['us'] });
  const got = await api('GET', `/applications/${app.client_id}`);
  assert.deepEqual(got.json.access_rules, { roles: ['hr'], countries: ['US'], email_domains: [] });
  for (const [rules, path] of [
    [{ countries: ['USA'] }, 'access_rules.countries'],
    [{ roles: 'hr' }, 'access_rules.roles'],
    [{ teams: [] }, 'access_rules.teams'],
  ]) {
    const r = await api('PATCH', `/applications/${app.client_id}`, { access_rules: rules });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error_description, new RegExp(path.replace('.', '\\.')));
  }
  const opened = await api('PATCH', `/applications/${app.client_id}`, { access_rules: null });
  assert.deepEqual(opened.json.access_rules, { roles: [], countries: [], email_domains: [] });
});

// The `roles` scope: the user's roles in the ID token, userinfo and an API's access token,
// and a change of roles reaches userinfo at once (the grant hears of it).
test('the roles scope puts the user\'s roles in the ID token, userinfo and an API\'s token', async () => {
  await server.ready;
  const api = managementApi(server);
  const API = `https://api-${randomToken(3).toLowerCase()}.example.com`;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT], allowed_audiences: [API] });
  const user = await createUser(server, { roles: ['hr', 'admin'] });
  const jar = new CookieJar();
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid roles offline_access' });
  const t = await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id });
  assert.equal(t.status, 200, t.text);
  const idClaims = JSON.parse(Buffer.from(t.json.id_token.split('.')[1], 'base64url'));
  assert.deepEqual(idClaims.roles, ['hr', 'admin']);
  const info = async () => (await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${t.json.access_token}` } })).json();
  assert.deepEqual((await info()).roles, ['hr', 'admin']);
  const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  assert.ok(d.scopes_supported.includes('roles') && d.claims_supported.includes('roles'));

  for (let i = 0; i < 50; i++) {
    // The grant index is written after the response; a change of roles finds the grant there.
    const [row] = await server.d1Query(`SELECT count(*) AS n FROM grants WHERE user_id = '${user.id}'`);
    if (row?.n >= 1) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const changed = await api('PATCH', `/users/${user.id}`, { roles: ['legal'] });
  assert.equal(changed.status, 200, changed.text);
  assert.deepEqual((await info()).roles, ['legal']);

  const forApi = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid roles', extra: { resource: API } });
  const t2 = await tokenRequest(server, { grant_type: 'authorization_code', code: forApi.code, redirect_uri: REDIRECT, code_verifier: forApi.verifier, client_id: app.client_id });
  assert.equal(t2.status, 200, t2.text);
  const at = JSON.parse(Buffer.from(t2.json.access_token.split('.')[1], 'base64url'));
  assert.equal(at.aud, API);
  assert.deepEqual(at.roles, ['legal']);
});
