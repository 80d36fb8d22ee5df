// The account page (issue 18) over HTTP against workerd with a local mail sink: /account signs
// in through the provider's login page (the built-in application edge-oidc-account) and comes
// back to a clean address; a new name reaches the stored user, userinfo and a refreshed ID
// token; a password change needs a recent sign-in (sudo mode: older than 10 minutes, the page
// asks to sign in again; tested natively, where the clock moves); a new address is proved by the mailed link
// (the old one told) and is what later logins and tokens use; revoking a third-party
// application takes its consent and refresh tokens; "Sign out everywhere" ends every session
// and refresh token; a form posted without its CSRF token changes nothing. Each change is
// checked through the management API and its audit record.
//
// The same in Chromium: account-browser.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar, assertLoginForm, auditRecords, authorizeUrl, createApp, createUser, decodeHtml, inputValues, locationOf,
  loginThroughForm, mailCount, managementApi, pkcePair, randomToken, readMail, request,
  tokenRequest, tokensThroughLogin, waitForIndex,
} from './helpers.mjs';

const server = useServer({ mail: true });
const REDIRECT = 'https://account.example.com/cb';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const api = (...args) => managementApi(server)(...args);

const newAddress = (what) => `${what}-${randomToken(5).toLowerCase().replace(/[^a-z0-9]/g, 'x')}@example.com`;

/** GET /account`query` with the jar's session: the page's HTML (it must be shown). */
async function accountPage(jar, query = '') {
  const res = await request(new URL(`/account${query}`, server.origin), { jar });
  const html = await res.text();
  assert.equal(res.status, 200, html.slice(0, 500));
  assert.match(html, /<h1>Your account<\/h1>/);
  return html;
}

/**
 * Opens /account without a session and signs `user` in on the login page it sends to: the
 * jar with the provider's session, and the page.
 */
async function signInToAccount(user, jar = new CookieJar()) {
  const first = await request(new URL('/account', server.origin), { jar });
  await first.arrayBuffer();
  assert.equal(first.status, 302, 'no session: to the login page');
  const to = locationOf(first, server.origin);
  assert.equal(to.pathname, '/authorize');
  assert.equal(to.searchParams.get('client_id'), 'edge-oidc-account');
  assert.equal(to.searchParams.get('redirect_uri'), `${server.origin}/account`);
  const back = await loginThroughForm(server, to, { jar, email: user.email, password: user.password });
  assert.equal(`${back.origin}${back.pathname}`, `${server.origin}/account`, 'back to the page');
  assert.ok(back.searchParams.get('code'));
  assert.equal(back.searchParams.get('state'), to.searchParams.get('state'));
  const clean = await request(back, { jar });
  await clean.arrayBuffer();
  assert.equal(clean.status, 302, 'the code leaves the address bar');
  assert.equal(clean.headers.get('location'), '/account');
  return { jar, html: await accountPage(jar) };
}

/**
 * Posts `fields` to `path` as the page's form does (with its CSRF token unless `csrf` is
 * false); returns { res, html }.
 */
async function post(jar, path, fields, { csrf = true } = {}) {
  const token = csrf ? { csrf_token: inputValues(await accountPage(jar)).csrf_token } : {};
  const res = await request(new URL(path, server.origin), {
    jar, method: 'POST', headers: FORM, body: new URLSearchParams({ ...token, ...fields }),
  });
  return { res, html: await res.text() };
}

/** The page's status message (role=status), as text. */
function statusOf(html) {
  const m = html.match(/<p class="done" role="status">([^<]*)<\/p>/);
  return m && decodeHtml(m[1]);
}

/** Posts a change that must go through: the page after it, with its status message. */
async function change(jar, path, fields, done) {
  const { res, html } = await post(jar, path, fields);
  assert.equal(res.status, 303, `POST ${path}: ${res.status} ${html.slice(0, 500)}`);
  assert.equal(res.headers.get('location'), `/account?done=${done}`);
  const page = await accountPage(jar, `?done=${done}`);
  assert.ok(statusOf(page), 'a status message');
  return page;
}

/** Posts a change that must be refused with `status` and `why` in the page's alert. */
async function refused(jar, path, fields, status, why) {
  const { res, html } = await post(jar, path, fields);
  assert.equal(res.status, status, `POST ${path}: ${html.slice(0, 500)}`);
  const alert = html.match(/<p class="error" role="alert">([^<]*)<\/p>/);
  assert.ok(alert, 'the section says what was wrong');
  assert.match(alert[1], why);
  assert.match(html, /<h1>Your account<\/h1>/, 'the page again');
  return html;
}

async function storedUser(id) {
  const r = await api('GET', `/users/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function consents(userId) {
  const r = await api('GET', `/users/${userId}/consents`);
  assert.equal(r.status, 200, r.text);
  return r.json.consents.map((c) => c.client_id);
}

/** The user's newest audit record `event` that `is` (polled: records come after the response). */
async function audited(event, userId, is = () => true) {
  return (await auditRecords(server, { event, user_id: userId }, (logs) => logs.some(is))).find(is);
}

/**
 * An application of `fields`, a user, and their tokens for it (scope with offline_access):
 * signed in through the login page, a third-party application's consent page allowed.
 */
async function signedInToApp({ app: fields = {}, user: who = {}, scope = 'openid profile email offline_access' } = {}) {
  await server.ready;
  const app = await createApp(server, { name: `Account test ${randomToken(3)}`, type: 'spa', redirect_uris: [REDIRECT], ...fields });
  const user = await createUser(server, who);
  const { jar, tokens } = await tokensThroughLogin(server, { app, user, redirectUri: REDIRECT, scope });
  return { app, user, jar, tokens };
}

/** A refresh: { status, json, claims (of its ID token, verified) }. */
async function refresh(app, refreshToken) {
  const r = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: app.client_id });
  if (r.status !== 200) return r;
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', server.origin));
  const { payload } = await jwtVerify(r.json.id_token, jwks, { issuer: server.origin, audience: app.client_id });
  return { ...r, claims: payload };
}

async function userinfo(accessToken) {
  const res = await fetch(`${server.origin}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

/** An authorization request of `app` (PKCE with `challenge`) to REDIRECT. */
function authorizeFor(app, { scope = 'openid', challenge = pkcePair().challenge } = {}) {
  return authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope, state: randomToken(),
    code_challenge: challenge, code_challenge_method: 'S256',
  });
}

/** POST /login of `app`'s authorization request with the credentials: the response's status. */
async function loginStatus(app, email, password) {
  const jar = new CookieJar();
  const hidden = assertLoginForm(await (await request(authorizeFor(app), { jar })).text());
  const res = await request(new URL('/login', server.origin), {
    jar, method: 'POST', headers: FORM, body: new URLSearchParams({ ...hidden, email, password }),
  });
  await res.arrayBuffer();
  return res.status;
}

test('/account signs in through the login page and shows the account', async () => {
  await server.ready;
  const user = await createUser(server, { name: 'Ada Lovelace' });
  const { html } = await signInToAccount(user);
  for (const section of ['Profile', 'Email', 'Password', 'Authorized applications', 'Sessions']) {
    assert.ok(html.includes(`>${section}</h2>`), `section ${section}`);
  }
  assert.equal(inputValues(html).name, 'Ada Lovelace', 'the name in its field');
  assert.ok(html.includes(`${user.email} (not verified)`), 'the address and that it is not verified');
  assert.match(html, /No application holds access to your account\./);
  assert.doesNotMatch(html, /Revoke/, 'the account page itself is not listed');
  assert.equal(statusOf(html), null, 'no status message without a change');
});

test('a new name reaches the stored user, userinfo and a refreshed ID token', async () => {
  const { app, user, tokens } = await signedInToApp({ user: { name: 'Ada Lovelace' } });
  await waitForIndex(server, user.id, { grants: 1 });
  const { jar, html } = await signInToAccount(user);
  assert.ok(html.includes(`<strong>${app.name}</strong>`), 'the application holding a refresh token is listed');

  await refused(jar, '/account/profile', { name: 'x'.repeat(201) }, 400, /at most 200 characters/);
  assert.equal((await storedUser(user.id)).name, 'Ada Lovelace', 'a refused name is not stored');

  const name = "Ada King-Noël O'Byrne";
  const page = await change(jar, '/account/profile', { name }, 'name');
  assert.equal(statusOf(page), 'Your name is saved.');
  assert.equal(inputValues(page).name, name, 'the page shows the new name');
  assert.equal((await storedUser(user.id)).name, name);
  assert.equal((await userinfo(tokens.access_token)).name, name, 'userinfo of a token issued before');
  const refreshed = await refresh(app, tokens.refresh_token);
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.equal(refreshed.claims.name, name, 'the refreshed ID token');
  assert.equal(refreshed.claims.sub, user.id);

  const record = await audited('user.updated', user.id, (r) => r.detail.by === 'self');
  assert.equal(record.detail.by, 'self');
  assert.equal(record.detail.fields, 'name');
});

test('a password change right after signing in follows the sign-up rules', async () => {
  await server.ready;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server);
  const { jar } = await signInToAccount(user);
  const password = `new-${randomToken(10)}`;
  await refused(jar, '/account/password', { new_password: 'password1' }, 400, /common/);
  await refused(jar, '/account/password', { new_password: 'short' }, 400, /at least 8 characters/);
  await refused(jar, '/account/password', { new_password: user.email }, 400, /email address/);
  assert.equal(await loginStatus(app, user.email, user.password), 303, 'refused changes keep the password');

  const page = await change(jar, '/account/password', { new_password: password }, 'password');
  assert.equal(statusOf(page), 'Your password is changed.');
  assert.equal(await loginStatus(app, user.email, user.password), 401, 'the old password fails');
  assert.equal(await loginStatus(app, user.email, password), 303, 'the new one signs in');
  const record = await audited('password.changed', user.id);
  assert.equal(record.detail.via, 'account');
});

test('a new address is proved by the mailed link, the old one is told, and tokens carry it afterwards', async () => {
  const { app, user, tokens } = await signedInToApp();
  await waitForIndex(server, user.id, { grants: 1 });
  const { jar } = await signInToAccount(user);
  const host = new URL(server.origin).hostname;
  await refused(jar, '/account/email', { new_email: 'not an address' }, 400, /./);
  await refused(jar, '/account/email', { new_email: user.email.toUpperCase() }, 400, /your address already/);

  const email = newAddress('moved');
  const before = await mailCount(server);
  const page = await change(jar, '/account/email', { new_email: email }, 'email');
  assert.equal(statusOf(page), 'We sent a link to your new address. Your address changes when you open it.');
  const mail = await readMail(server, email, { subject: /^Confirm your new email/, after: before });
  assert.equal(mail.subject, `Confirm your new email for ${host}`);
  const notice = await readMail(server, user.email, { subject: /email is about to change/, after: before });
  assert.equal(notice.subject, `Your ${host} email is about to change`);
  assert.ok(notice.text.includes(email), 'the old address hears the new one');
  assert.doesNotMatch(notice.text, /token=/, 'and gets no link');
  assert.equal((await storedUser(user.id)).email, user.email, 'nothing changes before the link');

  const link = mail.link('/account/email/confirm');
  assert.equal(link.origin, server.origin);
  const linkJar = new CookieJar(); // the mail may be opened in another browser
  const open = await request(link, { jar: linkJar });
  const confirmHtml = await open.text();
  assert.equal(open.status, 200, confirmHtml.slice(0, 500));
  assert.ok(confirmHtml.includes(email), 'the page names the address');
  assert.match(confirmHtml, /<button[^>]*>Use this address<\/button>/);
  assert.equal((await storedUser(user.id)).email, user.email, 'opening the link changes nothing');

  const confirm = () => request(new URL('/account/email/confirm', server.origin), {
    jar: linkJar, method: 'POST', headers: FORM, body: new URLSearchParams(inputValues(confirmHtml)),
  });
  const done = await confirm();
  const doneHtml = await done.text();
  assert.equal(done.status, 200, doneHtml.slice(0, 500));
  assert.match(doneHtml, /Your address is changed/);
  const stored = await storedUser(user.id);
  assert.equal(stored.email, email);
  assert.equal(stored.email_verified, true, 'the link proved it');
  assert.ok((await accountPage(jar)).includes(`${email} (verified)`), 'the page shows it');

  const again = await confirm();
  assert.equal(again.status, 400, 'the link works once');
  assert.match(await again.text(), /Link expired/);
  const reopened = await request(link);
  await reopened.arrayBuffer();
  assert.equal(reopened.status, 400, 'its page too');

  assert.equal(await loginStatus(app, user.email, user.password), 401, 'the old address no longer signs in');
  assert.equal(await loginStatus(app, email, user.password), 303, 'the new one does');
  const refreshed = await refresh(app, tokens.refresh_token);
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.equal(refreshed.claims.email, email, 'the refreshed ID token has the new address');
  assert.equal(refreshed.claims.email_verified, true);
  const info = await userinfo(refreshed.json.access_token);
  assert.equal(info.email, email);
  assert.equal(info.email_verified, true);
  const record = await audited('email.verified', user.id);
  assert.equal(record.detail.via, 'email_change');
});

test('an address another account took meanwhile is refused (409) and nothing changes', async () => {
  await server.ready;
  const user = await createUser(server);
  const { jar } = await signInToAccount(user);
  const email = newAddress('contested');
  const before = await mailCount(server);
  await change(jar, '/account/email', { new_email: email }, 'email');
  const link = (await readMail(server, email, { subject: /^Confirm your new email/, after: before })).link('/account/email/confirm');
  await createUser(server, { email });
  const linkJar = new CookieJar();
  const open = await request(link, { jar: linkJar });
  const html = await open.text();
  assert.equal(open.status, 200, html.slice(0, 500));
  const res = await request(new URL('/account/email/confirm', server.origin), {
    jar: linkJar, method: 'POST', headers: FORM, body: new URLSearchParams(inputValues(html)),
  });
  assert.equal(res.status, 409);
  assert.match(await res.text(), /That address is taken/);
  const stored = await storedUser(user.id);
  assert.equal(stored.email, user.email);
  assert.equal(stored.email_verified, false);
});

test('too many links to one address are refused with 429 and Retry-After', async () => {
  await server.ready;
  const user = await createUser(server);
  const { jar } = await signInToAccount(user);
  const email = newAddress('flooded');
  for (let i = 0; i < 3; i++) await change(jar, '/account/email', { new_email: email }, 'email');
  const { res, html } = await post(jar, '/account/email', { new_email: email });
  assert.equal(res.status, 429, html.slice(0, 500));
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  assert.match(html, /<p class="error" role="alert">Too many requests\. Try again in \d+ minutes?\.<\/p>/);
});

test('revoking a third-party application takes its consent and refresh tokens; it asks again', async () => {
  const name = `Third Party ${randomToken(3)}`;
  const { app, user, jar: appJar, tokens } = await signedInToApp({ app: { name, first_party: false }, scope: 'openid email offline_access' });
  assert.deepEqual(await consents(user.id), [app.client_id], 'the user consented on the way');
  await waitForIndex(server, user.id, { grants: 1 });
  const { jar, html } = await signInToAccount(user);
  assert.ok(html.includes(`<strong>${name}</strong>`), 'listed with its name');
  assert.ok(html.includes(`aria-label="Revoke ${name}"`), 'its button says what it revokes');
  assert.match(html, /email address/i, 'what it may do, in words');

  const forged = await post(jar, '/account/revoke', { client_id: app.client_id }, { csrf: false });
  assert.equal(forged.res.status, 400, 'no CSRF token, no revocation');
  assert.deepEqual(await consents(user.id), [app.client_id]);

  const page = await change(jar, '/account/revoke', { client_id: app.client_id }, 'revoked');
  assert.equal(statusOf(page), "The application's access is revoked.");
  assert.match(page, /No application holds access to your account\./);
  assert.deepEqual(await consents(user.id), [], 'the consent is gone');
  const dead = await refresh(app, tokens.refresh_token);
  assert.equal(dead.status, 400, dead.text);
  assert.equal(dead.json.error, 'invalid_grant');

  // The session with the application stands, but the next authorization asks again.
  const res = await request(authorizeFor(app, { scope: 'openid email' }), { jar: appJar });
  const consentHtml = await res.text();
  assert.equal(res.status, 200, 'a page, not a code');
  assert.match(consentHtml, /action="\/consent"/, 'the consent page');
  assert.ok(consentHtml.includes(name));

  const record = await audited('consent.revoked', user.id, (r) => r.detail.by === 'self');
  assert.equal(record.client_id, app.client_id);
  assert.equal(record.detail.by, 'self');
});

test('sign out everywhere ends every session and refresh token', async () => {
  const { app, user, jar: appJar, tokens } = await signedInToApp();
  const { jar } = await signInToAccount(user);
  await waitForIndex(server, user.id, { grants: 1, login_sessions: 2 });
  const stolen = jar.clone(); // the session cookie as it was: the server must have ended it

  const { res, html } = await post(jar, '/account/signout', {});
  assert.equal(res.status, 200, html.slice(0, 500));
  assert.match(html, /You are signed out everywhere/);
  assert.ok(res.setCookieNames.includes('oidc_session') && !jar.cookies.has('oidc_session'), 'the cookie is cleared');

  const dead = await refresh(app, tokens.refresh_token);
  assert.equal(dead.status, 400, dead.text);
  assert.equal(dead.json.error, 'invalid_grant');
  const back = await request(new URL('/account', server.origin), { jar: stolen });
  await back.arrayBuffer();
  assert.equal(back.status, 302, 'the old session cookie no longer opens the page');
  assert.equal(locationOf(back, server.origin).pathname, '/authorize');
  const other = await request(authorizeFor(app), { jar: appJar });
  assertLoginForm(await other.text()); // the application's session ended too: the login page
  await audited('sessions.revoked', user.id);
});

test('a form posted without its CSRF token, or without a session, changes nothing', async () => {
  await server.ready;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server, { name: 'Grace Hopper' });
  const { jar } = await signInToAccount(user);
  const other = await signInToAccount(await createUser(server));
  // A visitor without a session holding a good CSRF pair (the login page's).
  const anonymous = new CookieJar();
  const { csrf_token: anonymousToken } = assertLoginForm(await (await request(authorizeFor(app), { jar: anonymous })).text());
  const attempts = [
    ['/account/profile', { name: 'Mallory' }],
    ['/account/password', { new_password: `forged-${randomToken(8)}` }],
    ['/account/email', { new_email: newAddress('forged') }],
    ['/account/revoke', { client_id: app.client_id }],
    ['/account/signout', {}],
  ];
  const before = await mailCount(server);
  for (const [path, fields] of attempts) {
    const none = await post(jar, path, fields, { csrf: false });
    assert.equal(none.res.status, 400, `${path} without a token`);
    // Another browser's token, which does not match this browser's CSRF cookie.
    const foreign = await post(jar, path, { ...fields, csrf_token: inputValues(other.html).csrf_token }, { csrf: false });
    assert.equal(foreign.res.status, 400, `${path} with another browser's token`);
    const signedOut = await post(anonymous, path, { ...fields, csrf_token: anonymousToken }, { csrf: false });
    assert.equal(signedOut.res.status, 303, `${path} without a session`);
    assert.equal(locationOf(signedOut.res, server.origin).pathname, '/authorize', 'to the login page');
  }
  assert.equal(await loginStatus(app, user.email, user.password), 303, 'the password stands');
  const stored = await storedUser(user.id);
  assert.equal(stored.name, 'Grace Hopper');
  assert.equal(stored.email, user.email);
  assert.equal(inputValues(await accountPage(jar)).name, 'Grace Hopper', 'still signed in');
  assert.equal(await mailCount(server), before, 'no mail sent');
});

// The CSRF cookie is one for all the provider's forms, and a page keeps the token the browser
// holds (src/http/mod.rs new_csrf): a form of an account page opened before another page of
// the provider in the same browser (a second tab, the mailed link's page, a login page)
// still passes its CSRF check.
test('a form of an account page still works after another page was opened in the same browser', async () => {
  await server.ready;
  const user = await createUser(server, { name: 'Grace Hopper' });
  const { jar, html: first } = await signInToAccount(user);
  await accountPage(jar); // the same page in a second tab
  const { res, html } = await post(jar, '/account/profile', { name: 'Grace Brewster Hopper', csrf_token: inputValues(first).csrf_token }, { csrf: false });
  assert.equal(res.status, 303, `the first tab's form: ${res.status} ${html.slice(-400)}`);
  assert.equal((await storedUser(user.id)).name, 'Grace Brewster Hopper');
});
