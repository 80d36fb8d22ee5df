// Consent for third-party applications and loopback redirects (OpenID Connect Core §3.1.2.4,
// RFC 8252 §8.6), end to end in workerd.

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
  managementApi,
  pkcePair,
  request,
  tokenRequest,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://third.example.com/cb';
let user;
let jar;
let third;

before(async () => {
  await server.ready;
  user = await createUser(server);
  third = await createApp(server, {
    type: 'spa', name: 'Third Party Tool', first_party: false, redirect_uris: [REDIRECT],
  });
  jar = new CookieJar();
});

function authorizeFor(app, extra = {}, redirectUri = REDIRECT) {
  const { verifier, challenge } = pkcePair();
  const url = authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: redirectUri, scope: 'openid email',
    state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  });
  return { url, verifier };
}

function assertConsentPage(res, html, appName) {
  assert.equal(res.status, 200, html.slice(0, 300));
  assert.match(html, /action="\/consent"/);
  assert.match(html, new RegExp(appName));
  assert.match(html, /value="allow"/);
  assert.match(html, /value="deny"/);
  assert.match(html, /email address/, 'the scopes are described');
  assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  return inputValues(html);
}

async function decide(hidden, decision, { csrf = hidden.csrf_token } = {}) {
  return request(new URL('/consent', server.origin), {
    jar,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: csrf, auth_request: hidden.auth_request, decision }),
  });
}

test('login to a third-party app asks for consent; allow gives a working code', async () => {
  const { url, verifier } = authorizeFor(third);
  const page = await request(url, { jar });
  const hidden = assertLoginForm(await page.text());
  const afterLogin = await request(new URL('/login', server.origin), {
    jar,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, email: user.email, password: user.password }),
  });
  const consent = assertConsentPage(afterLogin, await afterLogin.text(), 'Third Party Tool');
  const res = await decide(consent, 'allow');
  await res.arrayBuffer();
  assert.equal(res.status, 303);
  const loc = locationOf(res, server.origin);
  assert.equal(loc.origin + loc.pathname, REDIRECT);
  assert.equal(loc.searchParams.get('state'), 'st-1');
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code: loc.searchParams.get('code'), redirect_uri: REDIRECT,
    code_verifier: verifier, client_id: third.client_id,
  });
  assert.equal(t.status, 200, t.text);
});

test('consent is remembered; a wider scope or prompt=consent asks again', async () => {
  const again = await request(authorizeFor(third).url, { jar });
  await again.arrayBuffer();
  assert.equal(again.status, 302, 'remembered: straight back with a code');
  assert.ok(locationOf(again, server.origin).searchParams.get('code'));

  const wider = await request(authorizeFor(third, { scope: 'openid email profile' }).url, { jar });
  assertConsentPage(wider, await wider.text(), 'Third Party Tool');

  const forced = await request(authorizeFor(third, { prompt: 'consent' }).url, { jar });
  assertConsentPage(forced, await forced.text(), 'Third Party Tool');
});

test('prompt=none without consent gives consent_required', async () => {
  const other = await createApp(server, {
    type: 'spa', name: 'Another Tool', first_party: false, redirect_uris: [REDIRECT],
  });
  const res = await request(authorizeFor(other, { prompt: 'none' }).url, { jar });
  await res.arrayBuffer();
  const loc = locationOf(res, server.origin);
  assert.equal(loc.searchParams.get('error'), 'consent_required');
  assert.equal(loc.searchParams.get('state'), 'st-1');
  assert.equal(loc.searchParams.get('iss'), server.origin);
});

test('deny sends access_denied back to the application', async () => {
  const other = await createApp(server, {
    type: 'spa', name: 'Denied Tool', first_party: false, redirect_uris: [REDIRECT],
  });
  const page = await request(authorizeFor(other).url, { jar });
  const hidden = assertConsentPage(page, await page.text(), 'Denied Tool');
  const res = await decide(hidden, 'deny');
  await res.arrayBuffer();
  const loc = locationOf(res, server.origin);
  assert.equal(loc.origin + loc.pathname, REDIRECT);
  assert.equal(loc.searchParams.get('error'), 'access_denied');
  assert.equal(loc.searchParams.get('code'), null);
  const after = await request(authorizeFor(other).url, { jar });
  assertConsentPage(after, await after.text(), 'Denied Tool');
});

test('a forged consent post (bad CSRF) is refused', async () => {
  const other = await createApp(server, {
    type: 'spa', name: 'Forged Tool', first_party: false, redirect_uris: [REDIRECT],
  });
  const page = await request(authorizeFor(other).url, { jar });
  const hidden = assertConsentPage(page, await page.text(), 'Forged Tool');
  const res = await decide(hidden, 'allow', { csrf: 'not-the-token' });
  await res.arrayBuffer();
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null);
  const api = managementApi(server);
  const list = await api('GET', `/users/${user.id}/consents`);
  assert.ok(!list.json.consents.some((c) => c.client_id === other.client_id));
});

test('revoking consent through the management API asks again', async () => {
  const api = managementApi(server);
  const list = await api('GET', `/users/${user.id}/consents`);
  assert.equal(list.status, 200, list.text);
  const entry = list.json.consents.find((c) => c.client_id === third.client_id);
  assert.ok(entry, JSON.stringify(list.json));
  assert.match(entry.scope, /email/);
  const del = await api('DELETE', `/users/${user.id}/consents/${third.client_id}`);
  assert.equal(del.status, 204);
  assert.equal((await api('DELETE', `/users/${user.id}/consents/${third.client_id}`)).status, 404);
  const page = await request(authorizeFor(third).url, { jar });
  assertConsentPage(page, await page.text(), 'Third Party Tool');
});

test('a first-party app on a loopback redirect always asks', async () => {
  const native = await createApp(server, {
    type: 'native', name: 'CLI Tool', redirect_uris: ['http://127.0.0.1/callback'],
  });
  const loopback = 'http://127.0.0.1:50123/callback';
  for (let i = 0; i < 2; i++) {
    const { url, verifier } = authorizeFor(native, {}, loopback);
    const page = await request(url, { jar });
    const html = await page.text();
    const hidden = assertConsentPage(page, html, 'CLI Tool');
    assert.match(html, /127\.0\.0\.1:50123/, 'the page shows where the user is sent');
    const res = await decide(hidden, 'allow');
    await res.arrayBuffer();
    const code = locationOf(res, server.origin).searchParams.get('code');
    // The native app's whole flow: the code redeems with PKCE and the exact loopback URI.
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code, redirect_uri: loopback, code_verifier: verifier, client_id: native.client_id,
    });
    assert.equal(t.status, 200, t.text);
  }
  // A first-party app on an ordinary redirect skips consent.
  const web = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const res = await request(authorizeFor(web).url, { jar });
  await res.arrayBuffer();
  assert.equal(res.status, 302);
});

// RFC 7591 §2 branding: an application's logo (https only) above the login and consent
// pages' titles, its privacy policy and terms linked below; the page's CSP lets in images
// from the logo's origin and nowhere else new.
test('an application\'s logo, policy and terms are on its login and consent pages', async () => {
  const api = managementApi(server);
  const bad = await api('POST', '/applications', {
    type: 'spa', name: 'Bad Brand', redirect_uris: [REDIRECT], logo_uri: 'http://cdn.example.com/l.png', tos_uri: 'javascript:alert(1)',
  });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.json.error_description, /logo_uri: must be an absolute https URL/);
  assert.match(bad.json.error_description, /tos_uri: must be an absolute https URL/);

  const brand = {
    logo_uri: 'https://cdn.brand.example/logo.png',
    policy_uri: 'https://brand.example/privacy',
    tos_uri: 'https://brand.example/terms',
  };
  const app = await createApp(server, {
    type: 'spa', name: 'Branded Tool', first_party: false, redirect_uris: [REDIRECT], ...brand,
  });
  const got = await api('GET', `/applications/${app.client_id}`);
  for (const [k, v] of Object.entries(brand)) assert.equal(got.json[k], v, k);

  const fresh = new CookieJar();
  const { url } = authorizeFor(app);
  const page = await request(url, { jar: fresh });
  const html = await page.text();
  const hidden = assertLoginForm(html);
  const assertBranded = (res, body) => {
    assert.match(body, /<img class="logo" src="https:\/\/cdn\.brand\.example\/logo\.png" alt="Branded Tool">/);
    assert.match(body, /href="https:\/\/brand\.example\/privacy"[^>]*>Branded Tool privacy policy</);
    assert.match(body, /href="https:\/\/brand\.example\/terms"[^>]*>Branded Tool terms of service</);
    assert.match(res.headers.get('content-security-policy'), /img-src 'self' data: https:\/\/cdn\.brand\.example;/);
  };
  assertBranded(page, html);
  const afterLogin = await request(new URL('/login', server.origin), {
    jar: fresh,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, email: user.email, password: user.password }),
  });
  const consentHtml = await afterLogin.text();
  assertConsentPage(afterLogin, consentHtml, 'Branded Tool');
  assertBranded(afterLogin, consentHtml);

  // Without branding: no image, no links, and the CSP allows no other image origin.
  const plain = await request(authorizeFor(third).url, { jar: new CookieJar() });
  const plainHtml = await plain.text();
  assert.doesNotMatch(plainHtml, /<img|class="links"/);
  assert.match(plain.headers.get('content-security-policy'), /img-src 'self' data:;/);
});
