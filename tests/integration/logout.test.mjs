// OpenID Connect RP-Initiated Logout 1.0 in workerd.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  assertLoginForm,
  authorizeUrl,
  createApp,
  createUser,
  inputValues,
  locationOf,
  loginThroughForm,
  pkcePair,
  randomToken,
  request,
  tokenRequest,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://logout.example.com/cb';
const BYE = 'https://logout.example.com/bye';
let app;
let user;

before(async () => {
  await server.ready;
  app = await createApp(server, {
    type: 'spa', name: 'Logout App', redirect_uris: [REDIRECT], post_logout_redirect_uris: [BYE],
    home_url: 'https://logout.example.com/',
  });
  user = await createUser(server);
});

/** Logs in through the form; returns { jar, idToken, sessionCookie }. */
async function login() {
  const jar = new CookieJar();
  const { verifier, challenge } = pkcePair();
  const callback = await loginThroughForm(server, authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: randomToken(), code_challenge: challenge, code_challenge_method: 'S256',
  }), { jar, email: user.email, password: user.password });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: REDIRECT,
    code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  return { jar, idToken: t.json.id_token, sessionCookie: jar.header() };
}

/** Whether a request carrying exactly `cookie` is still logged in (SSO straight to a code). */
async function loggedIn(cookie) {
  const { challenge } = pkcePair();
  const res = await fetch(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: 's', code_challenge: challenge, code_challenge_method: 'S256',
  }), { redirect: 'manual', headers: { cookie } });
  await res.arrayBuffer();
  return res.status === 302;
}

test('discovery advertises the end_session_endpoint', async () => {
  const d = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  assert.equal(d.end_session_endpoint, `${server.origin}/logout`);
});

test('with a matching id_token_hint: logged out at once and sent back with state', async () => {
  const { jar, idToken, sessionCookie } = await login();
  assert.ok(await loggedIn(sessionCookie));
  const url = new URL('/logout', server.origin);
  url.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: BYE, state: 'bye-state' });
  const res = await request(url, { jar });
  await res.arrayBuffer();
  assert.equal(res.status, 302);
  const loc = locationOf(res, server.origin);
  assert.equal(loc.origin + loc.pathname, BYE);
  assert.equal(loc.searchParams.get('state'), 'bye-state');
  assert.ok(!jar.cookies.has('oidc_session'), 'the session cookie is cleared');
  assert.equal(await loggedIn(sessionCookie), false, 'the old session cookie no longer works');
});

test('an unregistered post_logout_redirect_uri gets a page, not a redirect, and no logout', async () => {
  const { jar, idToken, sessionCookie } = await login();
  const url = new URL('/logout', server.origin);
  url.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: 'https://evil.example/' });
  const res = await request(url, { jar });
  const body = await res.text();
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null);
  assert.match(body, /not registered/);
  assert.ok(await loggedIn(sessionCookie), 'still logged in');
});

test('without a hint the user confirms; a forged confirmation is refused', async () => {
  const { jar, sessionCookie } = await login();
  const url = new URL('/logout', server.origin);
  url.search = new URLSearchParams({ client_id: app.client_id, post_logout_redirect_uri: BYE, state: 'c' });
  const page = await request(url, { jar });
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /action="\/logout"/);
  assert.match(html, /Logout App/);
  assert.ok(await loggedIn(sessionCookie), 'asking does not log out');
  const hidden = inputValues(html);

  const forged = await request(new URL('/logout', server.origin), {
    jar, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, csrf_token: 'forged', confirm: 'yes' }),
  });
  await forged.arrayBuffer();
  assert.equal(forged.status, 400);
  assert.ok(await loggedIn(sessionCookie), 'a forged confirmation does nothing');

  const confirmed = await request(new URL('/logout', server.origin), {
    jar, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, confirm: 'yes' }),
  });
  await confirmed.arrayBuffer();
  assert.equal(confirmed.status, 303);
  const loc = locationOf(confirmed, server.origin);
  assert.equal(loc.origin + loc.pathname, BYE);
  assert.equal(loc.searchParams.get('state'), 'c');
  assert.equal(await loggedIn(sessionCookie), false);
});

test('with nowhere to go: a signed-out page linking to the home URL', async () => {
  const { jar, idToken, sessionCookie } = await login();
  const url = new URL('/logout', server.origin);
  url.search = new URLSearchParams({ id_token_hint: idToken });
  const res = await request(url, { jar });
  const html = await res.text();
  assert.equal(res.status, 200);
  assert.match(html, /signed out/i);
  assert.match(html, /href="https:\/\/logout\.example\.com\/"/);
  assert.equal(await loggedIn(sessionCookie), false);
  // The login page is back for this browser.
  const again = await request(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: 's', code_challenge: pkcePair().challenge, code_challenge_method: 'S256',
  }), { jar });
  assertLoginForm(await again.text());
});
