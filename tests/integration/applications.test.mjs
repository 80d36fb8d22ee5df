// Application settings as users know them from Auth0 and Logto, end to end in workerd:
// validation, listing, secret rotation, grant types, token lifetimes, the CORS toggle.

import { test, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  authorizeUrl,
  basicAuth,
  createApp,
  createUser,
  locationOf,
  managementApi,
  pkcePair,
  randomToken,
  request,
  tokenRequest,
  obtainCode,
  allApplications,
} from './helpers.mjs';

const server = useServer();
let api;
let user;
let jar;

before(async () => {
  await server.ready;
  api = managementApi(server);
  user = await createUser(server);
  jar = new CookieJar();
});

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/** A code for `app` through the login form (first time) or the session (after). */
const codeFor = (app, redirectUri, { pkce = true } = {}) =>
  obtainCode(server, { app, redirectUri, jar, user, scope: 'openid email', pkce });

describe('settings', () => {
  test('create returns every setting with type defaults', async () => {
    const app = await createApp(server, {
      type: 'traditional',
      name: 'Backend',
      description: 'the backend',
      home_url: 'https://web.example.com/',
      redirect_uris: ['https://web.example.com/cb'],
    });
    assert.equal(app.type, 'traditional');
    assert.equal(app.home_url, 'https://web.example.com/');
    assert.deepEqual(app.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(app.first_party, true);
    assert.equal(app.cors_from_redirect_uris, false);
    assert.deepEqual(app.token_settings, {
      id_token_ttl: 3600,
      access_token_ttl: 3600,
      always_issue_refresh_token: false,
      rotate_refresh_token: true,
      refresh_token_ttl_days: 14,
    });
    assert.ok(app.client_secret.length >= 43, 'a 256-bit secret');
    const m2m = await createApp(server, { type: 'm2m' });
    assert.deepEqual(m2m.grant_types, ['client_credentials']);
  });

  test('validation names every rejected field and stores nothing', async () => {
    // All pages: other test files' applications share the database.
    const before = await allApplications(server);
    const r = await api('POST', '/applications', {
      name: 'Bad',
      type: 'spa',
      home_url: 'javascript:alert(1)',
      grant_types: ['client_credentials'],
      token_settings: { id_token_ttl: 5 },
      allowed_origins: ['https://a.example.com/path'],
      client_secret: 'mine',
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    for (const field of ['home_url', 'grant_types', 'token_settings.id_token_ttl', 'allowed_origins', 'client_secret']) {
      assert.match(r.json.error_description, new RegExp(field.replace('.', '\\.')), field);
    }
    const after = await allApplications(server);
    assert.equal(after.length, before.length);
  });

  test('PATCH merges token_settings and refuses type changes', async () => {
    const app = await createApp(server, { type: 'spa' });
    const r = await api('PATCH', `/applications/${app.client_id}`, { token_settings: { access_token_ttl: 900 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.token_settings.access_token_ttl, 900);
    assert.equal(r.json.token_settings.id_token_ttl, 3600);
    const t = await api('PATCH', `/applications/${app.client_id}`, { type: 'm2m' });
    assert.equal(t.status, 400);
    assert.match(t.json.error_description, /type/);
    const got = await api('GET', `/applications/${app.client_id}`);
    assert.equal(got.json.type, 'spa');
    // A wrongly typed nested value is named by its path in plain words (issue 17).
    const soon = await api('PATCH', `/applications/${app.client_id}`, { token_settings: { access_token_ttl: 'soon' } });
    assert.equal(soon.status, 400);
    assert.equal(soon.json.error_description, 'token_settings.access_token_ttl: must be a whole number');
    assert.equal((await api('GET', `/applications/${app.client_id}`)).json.token_settings.access_token_ttl, 900, 'nothing changed');
  });

  test('list: filters by type and name, pages with a cursor', async () => {
    const tag = randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x');
    for (let i = 0; i < 5; i++) await createApp(server, { type: 'native', name: `Paged ${tag} ${i}` });
    await createApp(server, { type: 'spa', name: `Paged ${tag} spa` });
    const seen = [];
    let cursor;
    for (let page = 0; page < 5; page++) {
      const q = new URLSearchParams({ type: 'native', name: `paged ${tag}`, limit: '2' });
      if (cursor) q.set('cursor', cursor);
      const r = await api('GET', `/applications?${q}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.applications.length <= 2);
      seen.push(...r.json.applications.map((a) => a.name));
      assert.ok(r.json.applications.every((a) => a.type === 'native'));
      cursor = r.json.next_cursor;
      if (!cursor) break;
    }
    // Every match exactly once across the pages (order: created_at, then client_id).
    assert.equal(seen.length, 5, `pages: ${seen}`);
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4].map((i) => `Paged ${tag} ${i}`));
    const bad = await api('GET', '/applications?cursor=%%%');
    assert.equal(bad.status, 400);
    assert.equal((await api('GET', '/applications?limit=0')).status, 400);
  });
});

describe('secret rotation', () => {
  const REDIRECT = 'https://rot.example.com/cb';

  async function exchange(app, secret) {
    const { code } = await codeFor(app, REDIRECT, { pkce: false });
    return tokenRequest(
      server,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { headers: { authorization: basicAuth(app.client_id, secret) } },
    );
  }

  test('without grace the old secret stops at once', async () => {
    const app = await createApp(server, { type: 'traditional', redirect_uris: [REDIRECT] });
    const r = await api('POST', `/applications/${app.client_id}/rotate-secret`);
    assert.equal(r.status, 200, r.text);
    assert.notEqual(r.json.client_secret, app.client_secret);
    const old = await exchange(app, app.client_secret);
    assert.equal(old.status, 401);
    assert.equal(old.json.error, 'invalid_client');
    assert.equal((await exchange(app, r.json.client_secret)).status, 200);
  });

  test('with a grace period both secrets work', async () => {
    const app = await createApp(server, { type: 'traditional', redirect_uris: [REDIRECT] });
    const r = await api('POST', `/applications/${app.client_id}/rotate-secret`, { grace_period_seconds: 3600 });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.previous_secret_expires_at > Date.now() / 1000);
    assert.equal((await exchange(app, app.client_secret)).status, 200);
    assert.equal((await exchange(app, r.json.client_secret)).status, 200);
    // A second rotation without grace ends the old one's grace too.
    const again = await api('POST', `/applications/${app.client_id}/rotate-secret`, {});
    assert.equal((await exchange(app, app.client_secret)).status, 401);
    assert.equal((await exchange(app, r.json.client_secret)).status, 401);
    assert.equal((await exchange(app, again.json.client_secret)).status, 200);
  });

  test('public applications have no secret to rotate', async () => {
    const app = await createApp(server, { type: 'spa' });
    const r = await api('POST', `/applications/${app.client_id}/rotate-secret`);
    assert.equal(r.status, 400);
    assert.equal((await api('POST', '/applications/nope/rotate-secret')).status, 404);
  });
});

describe('enforcement', () => {
  const REDIRECT = 'https://enf.example.com/cb';

  test('deleting an application stops its codes and tokens at once', async () => {
    const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
    const first = await codeFor(app, REDIRECT);
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code: first.code, redirect_uri: REDIRECT, code_verifier: first.verifier, client_id: app.client_id,
    });
    assert.equal(t.status, 200, t.text);
    const pending = await codeFor(app, REDIRECT);
    const userinfo = () => fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${t.json.access_token}` } });
    assert.equal((await userinfo()).status, 200);

    assert.equal((await api('DELETE', `/applications/${app.client_id}`)).status, 204);
    const late = await tokenRequest(server, {
      grant_type: 'authorization_code', code: pending.code, redirect_uri: REDIRECT, code_verifier: pending.verifier, client_id: app.client_id,
    });
    assert.equal(late.status, 401, late.text);
    assert.equal(late.json.error, 'invalid_client');
    const after = await userinfo();
    assert.equal(after.status, 401);
    assert.match(after.headers.get('www-authenticate') ?? '', /invalid_token/);
    const rows = await server.d1Query(`SELECT count(*) AS n FROM grants WHERE client_id = '${app.client_id}'`);
    assert.equal(rows[0].n, 0, 'its grants are gone from the index');
  });

  test('token lifetimes come from the application', async () => {
    const app = await createApp(server, {
      type: 'spa',
      redirect_uris: [REDIRECT],
      token_settings: { id_token_ttl: 120, access_token_ttl: 300 },
    });
    const { code, verifier } = await codeFor(app, REDIRECT);
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
    });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.expires_in, 300);
    const id = claimsOf(t.json.id_token);
    assert.equal(id.exp - id.iat, 120);
    // The access token is opaque (for userinfo): a resource server learns its lifetime by
    // introspection (RFC 7662).
    const rs = await createApp(server, { type: 'traditional', redirect_uris: [REDIRECT] });
    const seen = await fetch(`${server.origin}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(rs.client_id, rs.client_secret) },
      body: new URLSearchParams({ token: t.json.access_token }),
    }).then((r) => r.json());
    assert.equal(seen.active, true, JSON.stringify(seen));
    assert.equal(seen.exp - seen.iat, 300);
  });

  test('an application without authorization_code gets unauthorized_client', async () => {
    const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT], grant_types: ['refresh_token'] });
    const { challenge } = pkcePair();
    const res = await request(authorizeUrl(server, {
      response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
      state: 's', code_challenge: challenge, code_challenge_method: 'S256',
    }), { jar });
    await res.arrayBuffer();
    const loc = locationOf(res, server.origin);
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    assert.equal(loc.searchParams.get('error'), 'unauthorized_client');
    assert.equal(loc.searchParams.get('state'), 's');
  });

  test('cors_from_redirect_uris allows the redirect URIs\' origins', async () => {
    const origin = `https://toggle-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}.example.com`;
    const app = await createApp(server, { type: 'spa', redirect_uris: [`${origin}/cb`] });
    const preflight = () => fetch(`${server.origin}/token`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    assert.equal((await preflight()).headers.get('access-control-allow-origin'), null);
    await api('PATCH', `/applications/${app.client_id}`, { cors_from_redirect_uris: true });
    assert.equal((await preflight()).headers.get('access-control-allow-origin'), origin);
  });
});

describe('redirect URI and origin patterns', () => {
  async function authorize(app, redirectUri) {
    const { verifier, challenge } = pkcePair();
    const res = await request(authorizeUrl(server, {
      response_type: 'code', client_id: app.client_id, redirect_uri: redirectUri, scope: 'openid',
      state: 'st', code_challenge: challenge, code_challenge_method: 'S256',
    }), { jar });
    const body = await res.text();
    return { res, body, verifier };
  }

  async function assertRefusedWithPage(app, redirectUri) {
    const { res, body } = await authorize(app, redirectUri);
    assert.equal(res.status, 400, `${redirectUri}: ${res.status}`);
    assert.equal(res.headers.get('location'), null, `${redirectUri} must not redirect`);
    assert.match(body, /not registered/);
  }

  test('a subdomain wildcard works end to end and refuses lookalikes', async () => {
    if (!jar.cookies.size) await codeFor(await createApp(server, { type: 'spa', redirect_uris: ['https://seed.example.com/cb'] }), 'https://seed.example.com/cb');
    const created = await api('POST', '/applications', {
      name: 'Tenants', type: 'spa', redirect_uris: ['https://*.tenants.example.com/cb'],
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.warnings.length, 1, 'a wildcard is accepted with a warning');
    const app = created.json;
    const redirect = 'https://acme.tenants.example.com/cb';
    const { res, verifier } = await authorize(app, redirect);
    const loc = locationOf(res, server.origin);
    assert.equal(loc.origin + loc.pathname, redirect);
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code: loc.searchParams.get('code'), redirect_uri: redirect,
      code_verifier: verifier, client_id: app.client_id,
    });
    assert.equal(t.status, 200, t.text);
    for (const bad of [
      'https://a.b.tenants.example.com/cb',
      'https://tenants.example.com/cb',
      'https://acme.tenants.example.com/cb/../x',
      'https://acme.tenants.example.com@evil.example/cb',
      'https://acme.tenants.example.com.evil.example/cb',
      'http://acme.tenants.example.com/cb',
    ]) {
      await assertRefusedWithPage(app, bad);
    }
  });

  test('an unregistered redirect_uri page links to the registered home URL, never the request\'s', async () => {
    const app = await createApp(server, {
      type: 'spa', name: 'Home Linked', home_url: 'https://home.example.com/start', redirect_uris: ['https://home.example.com/cb'],
    });
    const { body, res } = await authorize(app, 'https://evil.example/cb');
    assert.equal(res.status, 400);
    assert.match(body, /href="https:\/\/home\.example\.com\/start"/);
    assert.doesNotMatch(body, /href="https:\/\/evil/);
  });

  test('a path wildcard covers its subtree only', async () => {
    const app = await createApp(server, { type: 'spa', redirect_uris: ['https://paths.example.com/app/*'] });
    const ok = await authorize(app, 'https://paths.example.com/app/callback?x=1');
    assert.ok(locationOf(ok.res, server.origin).searchParams.get('code'));
    await assertRefusedWithPage(app, 'https://paths.example.com/application');
    await assertRefusedWithPage(app, 'https://paths.example.com/app/%2e%2e/admin');
  });

  test('native loopback redirects match any port', async () => {
    const app = await createApp(server, { type: 'native', redirect_uris: ['http://127.0.0.1/callback'] });
    // The port matched: the user is asked to consent (loopback redirects always ask), and
    // the page names the exact destination.
    const ok = await authorize(app, 'http://127.0.0.1:49152/callback');
    assert.equal(ok.res.status, 200, ok.body.slice(0, 300));
    assert.match(ok.body, /action="\/consent"/);
    assert.match(ok.body, /127\.0\.0\.1:49152/);
    await assertRefusedWithPage(app, 'http://localhost:49152/callback');
  });

  test('wildcard allowed origins answer CORS for one label only', async () => {
    await createApp(server, { type: 'spa', allowed_origins: ['https://*.cors-wild.example.com'] });
    const preflight = (origin) => fetch(`${server.origin}/token`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' },
    });
    const ok = await preflight('https://app.cors-wild.example.com');
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.cors-wild.example.com');
    for (const bad of ['https://cors-wild.example.com', 'https://a.b.cors-wild.example.com', 'http://app.cors-wild.example.com', 'null']) {
      assert.equal((await preflight(bad)).headers.get('access-control-allow-origin'), null, bad);
    }
  });
});
