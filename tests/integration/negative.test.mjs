// Error handling: every request here must be refused, and refused in the specified way.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
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
  managementApi,
  tokenRequest,
  pkcePair,
  randomToken,
  basicAuth,
  allApplications,
} from './helpers.mjs';

const server = useServer();
const SPA_REDIRECT = 'https://spa.example.com/callback';
const WEB_REDIRECT = 'https://web.example.com/callback';

let spa;
let web;
let user;
let jar; // holds a logged-in session, so codes can be had without the form
before(async () => {
  await server.ready;
  spa = await createApp(server, { type: 'spa', redirect_uris: [SPA_REDIRECT] });
  web = await createApp(server, { type: 'traditional', redirect_uris: [WEB_REDIRECT] });
  user = await createUser(server);
  jar = new CookieJar();
  const { challenge } = pkcePair();
  await loginThroughForm(server, spaAuthorize({ code_challenge: challenge }), {
    jar,
    email: user.email,
    password: user.password,
  });
});

function spaAuthorize(overrides = {}) {
  return authorizeUrl(server, {
    response_type: 'code',
    client_id: spa.client_id,
    redirect_uri: SPA_REDIRECT,
    scope: 'openid email',
    state: randomToken(),
    nonce: randomToken(),
    code_challenge_method: 'S256',
    ...overrides,
  });
}

/** Gets a fresh code through the session (SSO). Returns { code, verifier }. */
async function freshCode({ clientId = spa.client_id, redirectUri = SPA_REDIRECT } = {}) {
  const { verifier, challenge } = pkcePair();
  const res = await request(
    authorizeUrl(server, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid',
      state: randomToken(),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
    { jar },
  );
  await res.arrayBuffer();
  assert.ok(isRedirect(res.status), `SSO authorize: ${res.status}`);
  const code = locationOf(res, server.origin).searchParams.get('code');
  assert.ok(code, 'code from SSO');
  return { code, verifier };
}

/** Asserts an authorization error redirect to redirect_uri; returns the error code. */
async function assertErrorRedirect(res, redirectUri, state) {
  const body = await res.text();
  assert.ok(isRedirect(res.status), `expected an error redirect, got ${res.status}: ${body.slice(0, 300)}`);
  const loc = locationOf(res, server.origin);
  assert.equal(loc.origin + loc.pathname, redirectUri);
  assert.ok(loc.searchParams.get('error'), `error parameter in ${loc}`);
  assert.equal(loc.searchParams.get('code'), null, 'no code on error');
  assert.equal(loc.searchParams.get('state'), state, 'state echoed');
  assert.equal(loc.searchParams.get('iss'), server.origin, 'iss present');
  return loc.searchParams.get('error');
}

async function assertHtmlErrorNoRedirect(res) {
  const body = await res.text();
  assert.equal(res.status, 400, `status ${res.status}`);
  assert.equal(res.headers.get('location'), null, 'must never redirect');
  assert.match(res.headers.get('content-type') ?? '', /text\/html/i);
  assert.ok(body.length > 0);
}

describe('token endpoint', () => {
  test('wrong code_verifier -> 400 invalid_grant', async () => {
    const { code } = await freshCode();
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SPA_REDIRECT,
      code_verifier: pkcePair().verifier,
      client_id: spa.client_id,
    });
    assert.equal(t.status, 400, t.text);
    assert.equal(t.json?.error, 'invalid_grant');
  });

  test('missing code_verifier for a public client -> 400', async () => {
    const { code } = await freshCode();
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SPA_REDIRECT,
      client_id: spa.client_id,
    });
    assert.equal(t.status, 400, t.text);
    assert.ok(['invalid_grant', 'invalid_request'].includes(t.json?.error), t.text);
  });

  test('a code redeemed twice -> second gets 400 invalid_grant', async () => {
    const { code, verifier } = await freshCode();
    const params = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SPA_REDIRECT,
      code_verifier: verifier,
      client_id: spa.client_id,
    };
    const first = await tokenRequest(server, params);
    assert.equal(first.status, 200, first.text);
    const second = await tokenRequest(server, params);
    assert.equal(second.status, 400, second.text);
    assert.equal(second.json?.error, 'invalid_grant');
  });

  test('redirect_uri differing from the authorization request -> 400 invalid_grant', async () => {
    const app = await createApp(server, {
      type: 'spa',
      redirect_uris: ['https://a.example.com/cb', 'https://b.example.com/cb'],
    });
    const { code, verifier } = await freshCode({ clientId: app.client_id, redirectUri: 'https://a.example.com/cb' });
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://b.example.com/cb',
      code_verifier: verifier,
      client_id: app.client_id,
    });
    assert.equal(t.status, 400, t.text);
    assert.equal(t.json?.error, 'invalid_grant');
  });

  test('a code issued to one client cannot be redeemed by another', async () => {
    const other = await createApp(server, { type: 'spa', redirect_uris: [SPA_REDIRECT] });
    const { code, verifier } = await freshCode();
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SPA_REDIRECT,
      code_verifier: verifier,
      client_id: other.client_id,
    });
    assert.equal(t.status, 400, t.text);
    assert.equal(t.json?.error, 'invalid_grant');
  });

  test('wrong client secret (basic) -> 401 invalid_client with WWW-Authenticate', async () => {
    const { code, verifier } = await freshCode({ clientId: web.client_id, redirectUri: WEB_REDIRECT });
    const t = await tokenRequest(
      server,
      { grant_type: 'authorization_code', code, redirect_uri: WEB_REDIRECT, code_verifier: verifier },
      { headers: { authorization: basicAuth(web.client_id, `${web.client_secret}x`) } },
    );
    assert.equal(t.status, 401, t.text);
    assert.equal(t.json?.error, 'invalid_client');
    assert.ok(t.headers.get('www-authenticate'), 'WWW-Authenticate header');
    assert.match(t.headers.get('cache-control') ?? '', /no-store/i);
  });

  test('wrong client secret (post) -> 401 invalid_client', async () => {
    const { code, verifier } = await freshCode({ clientId: web.client_id, redirectUri: WEB_REDIRECT });
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: WEB_REDIRECT,
      code_verifier: verifier,
      client_id: web.client_id,
      client_secret: 'not-the-secret',
    });
    assert.equal(t.status, 401, t.text);
    assert.equal(t.json?.error, 'invalid_client');
  });

  test('confidential client without any authentication -> 401 invalid_client', async () => {
    const { code, verifier } = await freshCode({ clientId: web.client_id, redirectUri: WEB_REDIRECT });
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: WEB_REDIRECT,
      code_verifier: verifier,
      client_id: web.client_id,
    });
    assert.equal(t.status, 401, t.text);
    assert.equal(t.json?.error, 'invalid_client');
  });

  test('unsupported grant_type -> 400 unsupported_grant_type', async () => {
    const t = await tokenRequest(server, { grant_type: 'password', username: 'a', password: 'b', client_id: spa.client_id });
    assert.equal(t.status, 400, t.text);
    assert.equal(t.json?.error, 'unsupported_grant_type');
  });

  test('garbage code -> 400 invalid_grant', async () => {
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code: randomToken(24),
      redirect_uri: SPA_REDIRECT,
      code_verifier: pkcePair().verifier,
      client_id: spa.client_id,
    });
    assert.equal(t.status, 400, t.text);
    assert.equal(t.json?.error, 'invalid_grant');
  });

  // Expired codes: storage.test.mjs ages a code in the server's D1 and redeems it.
});

describe('authorization endpoint', () => {
  test('unregistered redirect_uri -> 400 HTML, no redirect', async () => {
    const res = await request(spaAuthorize({ redirect_uri: 'https://evil.example/callback', code_challenge: pkcePair().challenge }));
    await assertHtmlErrorNoRedirect(res);
  });

  test('redirect_uri that only extends a registered one -> 400 HTML, no redirect', async () => {
    const res = await request(spaAuthorize({ redirect_uri: `${SPA_REDIRECT}/x`, code_challenge: pkcePair().challenge }));
    await assertHtmlErrorNoRedirect(res);
  });

  test('unknown client_id -> 400 HTML, no redirect', async () => {
    const res = await request(spaAuthorize({ client_id: `nope-${randomToken(8)}`, code_challenge: pkcePair().challenge }));
    await assertHtmlErrorNoRedirect(res);
  });

  test('missing client_id -> 400 HTML, no redirect', async () => {
    const res = await request(spaAuthorize({ client_id: undefined, code_challenge: pkcePair().challenge }));
    await assertHtmlErrorNoRedirect(res);
  });

  test('public client without code_challenge -> error=invalid_request redirect with state and iss', async () => {
    const state = randomToken();
    const res = await request(spaAuthorize({ state, code_challenge: undefined }), { jar });
    assert.equal(await assertErrorRedirect(res, SPA_REDIRECT, state), 'invalid_request');
  });

  test('code_challenge_method=plain is refused', async () => {
    const state = randomToken();
    const { verifier } = pkcePair();
    const res = await request(spaAuthorize({ state, code_challenge: verifier, code_challenge_method: 'plain' }), { jar });
    assert.equal(await assertErrorRedirect(res, SPA_REDIRECT, state), 'invalid_request');
  });

  test('scope without openid is refused with an error redirect', async () => {
    const state = randomToken();
    const res = await request(spaAuthorize({ state, scope: 'email profile', code_challenge: pkcePair().challenge }), { jar });
    const error = await assertErrorRedirect(res, SPA_REDIRECT, state);
    assert.ok(['invalid_scope', 'invalid_request'].includes(error), `error=${error}`);
  });

  test('response_type other than code -> unsupported_response_type redirect', async () => {
    const state = randomToken();
    const res = await request(spaAuthorize({ state, response_type: 'token', code_challenge: pkcePair().challenge }), { jar });
    assert.equal(await assertErrorRedirect(res, SPA_REDIRECT, state), 'unsupported_response_type');
  });

  test('prompt=none without a session -> error=login_required', async () => {
    const state = randomToken();
    const res = await request(spaAuthorize({ state, prompt: 'none', code_challenge: pkcePair().challenge }), {
      jar: new CookieJar(),
    });
    assert.equal(await assertErrorRedirect(res, SPA_REDIRECT, state), 'login_required');
  });

  // Core §6.1/§6.2: request objects must be signed with the client's registered keys; this
  // client has none, so both ways are invalid_request_object, and nothing is fetched. The
  // Form Post plan's modules put response_mode=form_post only inside the unsigned object,
  // and listen only for a POST: the refusal travels that way.
  test('request / request_uri from a client without keys -> invalid_request_object, by the mode the object names', async () => {
    const state = randomToken();
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = (claims) => `${b64({ alg: 'none' })}.${b64(claims)}.`;
    const challenge = pkcePair().challenge;
    let res = await request(spaAuthorize({ state, code_challenge: challenge, request: unsigned({ state }) }), { jar });
    assert.equal(await assertErrorRedirect(res, SPA_REDIRECT, state), 'invalid_request_object');
    res = await request(spaAuthorize({ state, code_challenge: challenge, request_uri: 'https://spa.example.com/r.jwt' }), { jar });
    assert.equal(await assertErrorRedirect(res, SPA_REDIRECT, state), 'invalid_request_object');

    const object = unsigned({ response_mode: 'form_post', state, client_id: spa.client_id });
    const url = authorizeUrl(server, {
      response_type: 'code', client_id: spa.client_id, redirect_uri: SPA_REDIRECT, scope: 'openid', request: object,
    });
    res = await request(url, { jar });
    const html = await res.text();
    assert.equal(res.status, 200, html.slice(0, 300));
    assert.equal(res.headers.get('location'), null, 'no query redirect');
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html, new RegExp(`<form method="post" action="${SPA_REDIRECT}">`));
    assert.match(html, /name="error" value="invalid_request_object"/);
    assert.match(html, new RegExp(`name="iss" value="${server.origin}"`));
    assert.doesNotMatch(html, /name="code"/);
  });

  test('/authorize answers no CORS', async () => {
    const res = await request(spaAuthorize({ code_challenge: pkcePair().challenge }), {
      headers: { origin: 'https://spa.example.com' },
    });
    await res.arrayBuffer();
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });
});

describe('login form', () => {
  async function openForm(j) {
    const res = await request(spaAuthorize({ code_challenge: pkcePair().challenge }), { jar: j });
    const html = await res.text();
    assert.equal(res.status, 200, html.slice(0, 300));
    return assertLoginForm(html);
  }

  function postLogin(j, fields) {
    return request(new URL('/login', server.origin), {
      jar: j,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  }

  test('wrong password -> 401 page with the form, and no session', async () => {
    const j = new CookieJar();
    const hidden = await openForm(j);
    const namesBefore = new Set(j.cookies.keys());
    const res = await postLogin(j, {
      email: user.email,
      password: `${user.password}-wrong`,
      csrf_token: hidden.csrf_token,
      auth_request: hidden.auth_request,
    });
    const html = await res.text();
    assert.equal(res.status, 401, `status ${res.status}`);
    assert.equal(res.headers.get('location'), null);
    assert.match(html, /Invalid email or password/);
    assertLoginForm(html);
    const newNames = res.setCookieNames.filter((n) => !namesBefore.has(n));
    assert.deepEqual(newNames, [], 'no new cookie (session) set on a failed login');
    // And the jar really holds no session: prompt=none must say login_required.
    const state = randomToken();
    const check = await request(spaAuthorize({ state, prompt: 'none', code_challenge: pkcePair().challenge }), { jar: j });
    assert.equal(await assertErrorRedirect(check, SPA_REDIRECT, state), 'login_required');
  });

  test('unknown email -> 401 with the same message', async () => {
    const j = new CookieJar();
    const hidden = await openForm(j);
    const res = await postLogin(j, {
      email: `nobody-${randomToken(6)}@example.com`,
      password: 'whatever-password',
      csrf_token: hidden.csrf_token,
      auth_request: hidden.auth_request,
    });
    const html = await res.text();
    assert.equal(res.status, 401);
    assert.match(html, /Invalid email or password/);
  });

  test('missing csrf_token -> 400 HTML', async () => {
    const j = new CookieJar();
    const hidden = await openForm(j);
    const res = await postLogin(j, { email: user.email, password: user.password, auth_request: hidden.auth_request });
    await res.arrayBuffer();
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/i);
  });

  test('csrf_token not matching the cookie -> 400', async () => {
    const j = new CookieJar();
    const hidden = await openForm(j);
    const res = await postLogin(j, {
      email: user.email,
      password: user.password,
      csrf_token: randomToken(24),
      auth_request: hidden.auth_request,
    });
    await res.arrayBuffer();
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });

  test('csrf_token without its cookie -> 400', async () => {
    const hidden = await openForm(new CookieJar());
    const res = await postLogin(new CookieJar(), {
      email: user.email,
      password: user.password,
      csrf_token: hidden.csrf_token,
      auth_request: hidden.auth_request,
    });
    await res.arrayBuffer();
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });
});

describe('userinfo', () => {
  test('bad bearer token -> 401 with WWW-Authenticate error="invalid_token"', async () => {
    const res = await fetch(`${server.origin}/userinfo`, { headers: { authorization: 'Bearer not.a.token' } });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b.*error="invalid_token"/i);
  });

  test('ID token is not accepted as an access token', async () => {
    const { code, verifier } = await freshCode();
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SPA_REDIRECT,
      code_verifier: verifier,
      client_id: spa.client_id,
    });
    assert.equal(t.status, 200, t.text);
    const res = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${t.json.id_token}` } });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
  });

  test('missing token -> 401', async () => {
    const res = await fetch(`${server.origin}/userinfo`);
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    // RFC 6750 §3.1: no credentials, so the challenge carries no error code.
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  });
});

describe('management API', () => {
  test('no token -> 401 invalid_token', async () => {
    const r = await managementApi(server)('GET', '/applications', undefined, { token: null });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json?.error, 'invalid_token');
  });

  test('wrong token -> 401 invalid_token', async () => {
    const r = await managementApi(server)('POST', '/applications', { name: 'x', type: 'spa', redirect_uris: [] }, {
      token: `${server.adminToken}x`,
    });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json?.error, 'invalid_token');
  });

  test('bad body -> 400 invalid_request', async () => {
    const api = managementApi(server);
    for (const body of ['{not json', { name: 'x', type: 'mainframe', redirect_uris: [] }, { type: 'spa', redirect_uris: [] }]) {
      const r = await api('POST', '/applications', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${r.text}`);
      assert.equal(r.json?.error, 'invalid_request');
      assert.equal(typeof r.json?.error_description, 'string');
    }
  });

  test('unknown application -> 404 not_found', async () => {
    const r = await managementApi(server)('GET', `/applications/nope-${randomToken(6)}`);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json?.error, 'not_found');
  });

  test('duplicate user email -> 409 conflict (case-insensitive)', async () => {
    const r = await managementApi(server)('POST', '/users', { email: user.email.toUpperCase(), password: 'another-password-1' });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json?.error, 'conflict');
  });

  test('application CRUD', async () => {
    const api = managementApi(server);
    const created = await createApp(server, {
      name: 'CRUD app',
      type: 'native',
      description: 'first',
      redirect_uris: ['com.example.app:/callback'],
    });
    assert.equal(created.name, 'CRUD app');
    assert.equal(created.type, 'native');
    assert.equal(created.description, 'first');
    assert.deepEqual(created.redirect_uris, ['com.example.app:/callback']);
    assert.deepEqual(created.post_logout_redirect_uris, []);
    assert.deepEqual(created.allowed_origins, []);
    assert.equal(created.token_endpoint_auth_method, 'none');
    assert.equal(created.client_secret, undefined);
    assert.ok(created.created_at !== undefined && created.updated_at !== undefined);

    const got = await api('GET', `/applications/${created.client_id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.client_id, created.client_id);
    assert.equal(got.json.client_secret, undefined, 'secret never returned after creation');

    const list = await api('GET', '/applications');
    assert.equal(list.status, 200);
    assert.ok(list.json.applications.every((a) => a.client_secret === undefined));
    // The list is oldest first and the database is shared: the new one may be on a later page.
    const all = await allApplications(server);
    assert.ok(all.some((a) => a.client_id === created.client_id));
    assert.ok(all.every((a) => a.client_secret === undefined));

    const patched = await api('PATCH', `/applications/${created.client_id}`, { description: 'second' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.description, 'second');
    assert.equal(patched.json.name, 'CRUD app', 'PATCH is partial');
    assert.deepEqual(patched.json.redirect_uris, ['com.example.app:/callback']);

    const del = await api('DELETE', `/applications/${created.client_id}`);
    assert.equal(del.status, 204, del.text);
    const gone = await api('GET', `/applications/${created.client_id}`);
    assert.equal(gone.status, 404);
    // A deleted client is an unknown client at /authorize.
    const res = await request(
      authorizeUrl(server, {
        response_type: 'code',
        client_id: created.client_id,
        redirect_uri: 'com.example.app:/callback',
        scope: 'openid',
        state: 's',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      }),
    );
    await assertHtmlErrorNoRedirect(res);
  });

  test('m2m apps get a secret and client_secret_basic', async () => {
    const app = await createApp(server, { type: 'm2m', redirect_uris: [] });
    assert.equal(app.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(typeof app.client_secret, 'string');
  });
});

describe('max_age (OpenID Connect Core §3.1.2.1)', () => {
  test('a login older than max_age is repeated; with prompt=none it is login_required', async () => {
    // The session's login happened in before(); make sure at least a second has passed.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await request(spaAuthorize({ max_age: '3600', code_challenge: pkcePair().challenge }), { jar });
    await fresh.arrayBuffer();
    assert.equal(fresh.status, 302, 'a recent login satisfies max_age');
    assert.ok(locationOf(fresh, server.origin).searchParams.get('code'));

    const stale = await request(spaAuthorize({ max_age: '0', code_challenge: pkcePair().challenge }), { jar });
    assert.equal(stale.status, 200);
    assertLoginForm(await stale.text());

    const none = await request(spaAuthorize({ max_age: '0', prompt: 'none', code_challenge: pkcePair().challenge }), { jar });
    await none.arrayBuffer();
    assert.equal(locationOf(none, server.origin).searchParams.get('error'), 'login_required');

    const bad = await request(spaAuthorize({ max_age: 'soon', code_challenge: pkcePair().challenge }), { jar });
    await bad.arrayBuffer();
    assert.equal(locationOf(bad, server.origin).searchParams.get('error'), 'invalid_request');
  });
});
