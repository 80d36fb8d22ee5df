// OpenID Connect Back-Channel Logout 1.0 in workerd: the metadata (discovery, the management
// API, dynamic registration; §2.1-2.2), `sid` in ID tokens, and the logout tokens POSTed to
// the applications of a session that ends (§2.4 the token, §2.5 sending it, §2.6 an RP that
// fails), received by a plain node:http relying party on loopback.
//
// The server runs with registration on (the same configuration as registration.test.mjs, so
// the run shares its server) so that /register can be tested here too.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  authorizeUrl,
  createApp,
  createUser,
  locationOf,
  managementApi,
  obtainCode,
  pkcePair,
  request,
  tokenRequest,
} from './helpers.mjs';

const INITIAL = 'initial-access-token-for-tests';
const server = useServer({
  vars: { REGISTRATION_ENABLED: 'true', REGISTRATION_INITIAL_ACCESS_TOKEN: INITIAL },
});
const REDIRECT = 'https://bc.example.com/cb';
const BYE = 'https://bc.example.com/bye';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

// The relying party: records every request; /bc-500 answers 500, everything else 200.
const received = [];
const rp = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({ method: req.method, path: req.url, type: req.headers['content-type'] ?? '', body });
    res.writeHead(req.url === '/bc-500' ? 500 : 200, { 'cache-control': 'no-store' }).end();
  });
});
let rpBase;
let api;
let user;
let jwks;

// Once, from whichever hook gets here first (top-level hooks may run concurrently).
let setup;
const ready = () => (setup ??= (async () => {
  await new Promise((r) => rp.listen(0, '127.0.0.1', r));
  rpBase = `http://127.0.0.1:${rp.address().port}`;
  await server.ready;
  api = managementApi(server);
  user = await createUser(server);
  const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  jwks = createRemoteJWKSet(new URL(d.jwks_uri));
})());
before(() => ready());
after(() => new Promise((r) => { rp.closeAllConnections(); rp.close(r); }));

/** Polls `pred` every 100 ms for up to `ms`; fails naming `what` and what the RP got. */
async function waitFor(pred, ms, what = 'condition') {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) {
      assert.fail(`${what}: not within ${ms} ms; the RP got ${JSON.stringify(received.map((r) => `${r.method} ${r.path}`))}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const postsTo = (path) => received.filter((r) => r.path === path);
const logoutTokenOf = (post) => new URLSearchParams(post.body).get('logout_token');

/** A spa signing in at REDIRECT, going back to BYE after logout. */
const newApp = (fields = {}) => createApp(server, {
  type: 'spa', redirect_uris: [REDIRECT], post_logout_redirect_uris: [BYE], ...fields,
});

/** The code flow for `app` in `jar` (the form the first time, SSO after): tokens + ID token claims. */
async function signIn(jar, app, scope = 'openid') {
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  return { ...t.json, claims: claimsOf(t.json.id_token) };
}

/** RP-initiated logout with a hint; asserts the redirect to BYE with `state`. */
async function logout(jar, idToken, state) {
  const url = new URL('/logout', server.origin);
  url.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state });
  const res = await request(url, { jar });
  const body = await res.text();
  assert.equal(res.status, 302, `logout: ${res.status} ${body.slice(0, 300)}`);
  const loc = locationOf(res, server.origin);
  assert.equal(loc.origin + loc.pathname, BYE);
  assert.equal(loc.searchParams.get('state'), state);
}

/** Whether a request carrying exactly `cookie` is still signed in to `app` (SSO straight to a code). */
async function loggedIn(cookie, app) {
  const res = await fetch(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid', state: 's',
    code_challenge: pkcePair().challenge, code_challenge_method: 'S256',
  }), { redirect: 'manual', headers: { cookie } });
  await res.arrayBuffer();
  return res.status === 302;
}

describe('metadata (§2.1, §2.2)', () => {
  test('discovery advertises back-channel logout with sid', async () => {
    const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
    assert.equal(d.backchannel_logout_supported, true);
    assert.equal(d.backchannel_logout_session_supported, true);
  });

  test('applications take, echo and patch backchannel_logout_uri and _session_required', async () => {
    const uri = 'https://rp.example.com/bc?tenant=1';
    const app = await newApp({ backchannel_logout_uri: uri, backchannel_logout_session_required: true });
    assert.equal(app.backchannel_logout_uri, uri);
    assert.equal(app.backchannel_logout_session_required, true);
    const got = await api('GET', `/applications/${app.client_id}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.backchannel_logout_uri, uri);
    assert.equal(got.json.backchannel_logout_session_required, true);

    const plain = await newApp();
    assert.equal(plain.backchannel_logout_uri ?? null, null, 'none unless set');
    assert.equal(plain.backchannel_logout_session_required, false, 'false by default');
    for (const ok of ['http://127.0.0.1:9/bc', 'http://localhost:9/bc', 'http://[::1]:9/bc', 'https://rp.example.com/bc']) {
      const r = await api('PATCH', `/applications/${plain.client_id}`, { backchannel_logout_uri: ok });
      assert.equal(r.status, 200, `${ok}: ${r.text}`);
      assert.equal(r.json.backchannel_logout_uri, ok);
    }
    const r = await api('PATCH', `/applications/${plain.client_id}`, { backchannel_logout_session_required: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.backchannel_logout_session_required, true);
    assert.equal(r.json.backchannel_logout_uri, 'https://rp.example.com/bc', 'PATCH keeps what it does not name');
  });

  test('a bad URI or a non-boolean is refused, naming the field', async () => {
    const bad = ['https://rp.example.com/bc#x', '/bc', 'rp.example.com/bc', 'ftp://rp.example.com/bc',
      'javascript:alert(1)', 'http://rp.example.com/bc'];
    for (const uri of bad) {
      const r = await api('POST', '/applications', { name: 'Bad BC', type: 'spa', backchannel_logout_uri: uri });
      assert.equal(r.status, 400, `${uri}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_request', uri);
      assert.match(r.json.error_description, /backchannel_logout_uri/, uri);
    }
    const app = await newApp({ backchannel_logout_uri: 'https://rp.example.com/bc' });
    const patch = await api('PATCH', `/applications/${app.client_id}`, { backchannel_logout_uri: 'https://rp.example.com/bc#x' });
    assert.equal(patch.status, 400, patch.text);
    assert.match(patch.json.error_description, /backchannel_logout_uri/);
    for (const value of ['yes', 1, 'true']) {
      const r = await api('PATCH', `/applications/${app.client_id}`, { backchannel_logout_session_required: value });
      assert.equal(r.status, 400, `${JSON.stringify(value)}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_request');
      assert.match(r.json.error_description, /backchannel_logout_session_required/);
    }
    const got = await api('GET', `/applications/${app.client_id}`);
    assert.equal(got.json.backchannel_logout_uri, 'https://rp.example.com/bc', 'a refused PATCH stores nothing');
    assert.equal(got.json.backchannel_logout_session_required, false);
  });

  test('dynamic registration takes and echoes the metadata (RFC 7591)', async () => {
    const register = (body) => fetch(`${server.origin}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL}` },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', ...body }),
    });
    const uri = 'https://rp.example.com/registered-bc';
    const res = await register({ backchannel_logout_uri: uri, backchannel_logout_session_required: true });
    const info = await res.json();
    assert.equal(res.status, 201, JSON.stringify(info));
    assert.equal(info.backchannel_logout_uri, uri);
    assert.equal(info.backchannel_logout_session_required, true);
    const read = await fetch(info.registration_client_uri, { headers: { authorization: `Bearer ${info.registration_access_token}` } });
    const again = await read.json();
    assert.equal(again.backchannel_logout_uri, uri);
    assert.equal(again.backchannel_logout_session_required, true);

    for (const body of [{ backchannel_logout_uri: 'https://rp.example.com/bc#x' }, { backchannel_logout_uri: 'ftp://rp.example.com/bc' },
      { backchannel_logout_uri: uri, backchannel_logout_session_required: 'yes' }]) {
      const r = await register(body);
      const json = await r.json();
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(json.error, 'invalid_client_metadata', JSON.stringify(body));
    }
  });
});

describe('logout tokens (§2.4-2.6)', () => {
  let A; // back-channel at /bc-a
  let B; // back-channel at /bc-b
  let C; // none; also the offline_access app for the refresh check
  const jar1 = new CookieJar();
  const jar2 = new CookieJar();
  const s1 = {}; // session 1: A (through the form), then B and C by SSO
  const s2 = {}; // session 2, same user, another browser: A only

  before(async () => {
    await ready();
    A = await newApp({ name: 'BC A', backchannel_logout_uri: `${rpBase}/bc-a` });
    B = await newApp({ name: 'BC B', backchannel_logout_uri: `${rpBase}/bc-b`, backchannel_logout_session_required: true });
    C = await newApp({ name: 'BC C' });
    s1.a = await signIn(jar1, A);
    s1.b = await signIn(jar1, B);
    s1.c = await signIn(jar1, C, 'openid offline_access');
    s2.a = await signIn(jar2, A);
  });

  test('ID tokens carry the session sid: shared by SSO, new per login, kept on refresh', async () => {
    const sid = s1.a.claims.sid;
    assert.equal(typeof sid, 'string');
    assert.ok(sid.length > 0);
    assert.equal(s1.b.claims.sid, sid, 'SSO to B: the same session');
    assert.equal(s1.c.claims.sid, sid, 'SSO to C: the same session');
    assert.equal(typeof s2.a.claims.sid, 'string');
    assert.notEqual(s2.a.claims.sid, sid, 'another login, another sid');
    assert.ok(s1.c.refresh_token, 'offline_access gave a refresh token');
    const r = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: s1.c.refresh_token, client_id: C.client_id });
    assert.equal(r.status, 200, r.text);
    assert.equal(claimsOf(r.json.id_token).sid, sid, 'a refreshed ID token keeps the sid');
  });

  test('logout: one token each to A and B, none for C; the user goes back with state', async () => {
    await logout(jar1, s1.a.id_token, 'xyz');
    await waitFor(() => postsTo('/bc-a').length >= 1 && postsTo('/bc-b').length >= 1, 10_000, 'logout tokens at /bc-a and /bc-b');
    const jtis = [];
    for (const [app, path, idToken] of [[A, '/bc-a', s1.a], [B, '/bc-b', s1.b]]) {
      const posts = postsTo(path);
      assert.equal(posts.length, 1, `one POST at ${path}`);
      const [post] = posts;
      assert.equal(post.method, 'POST');
      assert.match(post.type, /^application\/x-www-form-urlencoded\b/i);
      assert.deepEqual([...new URLSearchParams(post.body).keys()], ['logout_token'], 'a single logout_token field');
      const { payload, protectedHeader } = await jwtVerify(logoutTokenOf(post), jwks, {
        issuer: server.origin, audience: app.client_id, typ: 'logout+jwt',
      });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.deepEqual([payload.aud].flat(), [app.client_id]);
      assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp) && payload.exp > payload.iat, 'iat < exp');
      assert.equal(typeof payload.jti, 'string');
      assert.equal(payload.sub, user.id);
      assert.equal(payload.sub, idToken.claims.sub);
      assert.equal(payload.sid, idToken.claims.sid);
      assert.deepEqual(payload.events, { [EVENT]: {} });
      assert.equal('nonce' in payload, false, 'a logout token has no nonce');
      jtis.push(payload.jti);
    }
    assert.notEqual(jtis[0], jtis[1], 'each token its own jti');
    assert.deepEqual(received.filter((r) => r.path !== '/bc-a' && r.path !== '/bc-b'), [], 'nothing else (C has no URI)');
  });

  test('no session, no token; another session of the user lives on until it ends', async () => {
    const cookie2 = jar2.header();
    await logout(jar1, s1.a.id_token, 'again'); // session 1 is gone already
    assert.ok(await loggedIn(cookie2, A), 'session 2 is still signed in');
    const sids = () => received.map(logoutTokenOf).filter(Boolean).map((t) => claimsOf(t).sid);
    assert.ok(!sids().includes(s2.a.claims.sid), 'no token carried session 2\'s sid');

    // Session 2's own token doubles as a marker: a delivery queued by the logout without a
    // session would have had as long to arrive as this one.
    await logout(jar2, s2.a.id_token, 's2');
    await waitFor(() => sids().includes(s2.a.claims.sid), 10_000, 'a logout token for session 2 at /bc-a');
    assert.equal(postsTo('/bc-a').length, 2, 'A: one token per session');
    assert.equal(postsTo('/bc-b').length, 1, 'B: nothing for session 2, which it never joined');
    assert.equal(sids().filter((s) => s === s1.a.claims.sid).length, 2, 'session 1: still just the two tokens');
    assert.equal(await loggedIn(cookie2, A), false, 'session 2 ended');
  });

  test('an RP answering 500, or not listening at all, changes nothing for the user (§2.6)', async () => {
    const D = await newApp({ name: 'BC 500', backchannel_logout_uri: `${rpBase}/bc-500` });
    const E = await newApp({ name: 'BC nobody', backchannel_logout_uri: 'http://127.0.0.1:1/bc' });
    const jar3 = new CookieJar();
    await signIn(jar3, E); // first: whatever the order, a dead RP must not stop the next one
    const d = await signIn(jar3, D);
    const cookie3 = jar3.header();
    await logout(jar3, d.id_token, 'still-fine');
    assert.equal(await loggedIn(cookie3, D), false, 'the session ended all the same');
    await waitFor(() => postsTo('/bc-500').length >= 1, 10_000, 'a logout token at /bc-500');
    assert.equal(claimsOf(logoutTokenOf(postsTo('/bc-500')[0])).sid, d.claims.sid);
  });

  test('an administrator disabling the user ends their sessions, and the applications are told', async () => {
    const F = await newApp({ name: 'BC disable', backchannel_logout_uri: `${rpBase}/bc-f` });
    const someone = await createUser(server);
    const jar4 = new CookieJar();
    const { code, verifier } = await obtainCode(server, { app: F, redirectUri: REDIRECT, jar: jar4, user: someone });
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: F.client_id,
    });
    const sid = claimsOf(t.json.id_token).sid;
    // The session's index row and its list of applications are written after the answers.
    for (let i = 0; i < 100; i++) {
      const [row] = await server.d1Query(`SELECT count(*) AS n FROM login_sessions WHERE user_id = '${someone.id}'`);
      if (row.n === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    const res = await api('PATCH', `/users/${someone.id}`, { disabled: true });
    assert.equal(res.status, 200, res.text);
    await waitFor(() => postsTo('/bc-f').length >= 1, 10_000, 'a logout token at /bc-f');
    const { payload } = await jwtVerify(logoutTokenOf(postsTo('/bc-f')[0]), jwks, { issuer: server.origin, audience: F.client_id });
    assert.equal(payload.sub, someone.id);
    assert.equal(payload.sid, sid);
  });
});
