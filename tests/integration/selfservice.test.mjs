// People help themselves (issue 18), over HTTP against workerd with a local mail sink (the
// provider's real `http` mail transport, pointed at scripts/mail-sink.mjs): sign-up from the
// login page to a code and verified tokens, a sign-up for an existing address that looks the
// same and mails the owner instead, and a password reset from the mailed link that works once
// and signs the user out everywhere (their refresh token dies). Each step's audit record too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar, assertLoginForm, authorizeUrl, createApp, createUser, decodeHtml, inputValues, locationOf, mailCount,
  managementApi, obtainCode, pkcePair, randomToken, readMail, request, tokenRequest,
} from './helpers.mjs';

const server = useServer({ vars: { SIGNUP_ENABLED: 'true' }, mail: true });
const REDIRECT = 'https://selfservice.example.com/cb';

const spa = (fields = {}) => createApp(server, {
  name: `Self-service ${randomToken(3)}`, type: 'spa', redirect_uris: [REDIRECT], ...fields,
});

/** The authorize request's login page: its HTML and the PKCE verifier. */
async function loginPage(app, jar, scope = 'openid email profile offline_access') {
  const { verifier, challenge } = pkcePair();
  const url = authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope, state: 'st',
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  const res = await request(url, { jar });
  const html = await res.text();
  assert.equal(res.status, 200, html.slice(0, 300));
  return { html, verifier };
}

/** The `href` of the link labelled `label`, resolved on the server. */
function linkTo(html, label) {
  const m = html.match(new RegExp(`<a href="([^"]*)">${label}</a>`));
  return m && new URL(decodeHtml(m[1]), server.origin);
}

/** Submits the page's form (its hidden fields plus `fields`) to `path`. */
async function submit(html, path, fields, jar) {
  const body = new URLSearchParams({ ...inputValues(html), ...fields });
  const res = await request(new URL(path, server.origin), {
    jar, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body,
  });
  return { res, html: await res.text() };
}

async function auditHas(event, userId) {
  const api = managementApi(server);
  for (let i = 0; i < 50; i++) {
    const r = await api('GET', `/logs?event=${event}&user_id=${userId}`);
    if (r.json?.logs?.length) return r.json.logs;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail(`no ${event} record for ${userId}`);
}

test('sign-up: the mailed link leads to the password, the account is verified and the code follows', async () => {
  await server.ready;
  const app = await spa();
  const jar = new CookieJar();
  const { html: login, verifier } = await loginPage(app, jar);
  const signupUrl = linkTo(login, 'Create an account');
  assert.ok(signupUrl, 'the login page offers sign-up');
  const form = await request(signupUrl, { jar });
  const formHtml = await form.text();
  assert.equal(form.status, 200, formHtml.slice(0, 300));
  assert.ok(formHtml.includes(app.name), 'the form names the application');

  const email = `new-${randomToken(5).toLowerCase()}@example.com`;
  const before = await mailCount(server);
  const sent = await submit(formHtml, '/signup', { email, name: 'Grace Hopper' }, jar);
  assert.equal(sent.res.status, 200, sent.html.slice(0, 300));
  assert.match(sent.html, /Check your email/);
  const api = managementApi(server);
  assert.equal((await api('GET', `/users?q=${encodeURIComponent(email)}`)).json.users.length, 0, 'no account before the link');

  const mail = await readMail(server, email, { subject: /^Confirm your email/, after: before });
  assert.ok(mail.subject.includes(app.name), mail.subject);
  assert.ok(mail.html.includes('<html lang="en">') && mail.text.length > 50, 'an HTML and a text part');
  const link = mail.link('/signup/confirm');
  assert.equal(link.origin, server.origin);
  const choose = await request(link, { jar });
  const chooseHtml = await choose.text();
  assert.equal(choose.status, 200, chooseHtml.slice(0, 300));
  assert.ok(chooseHtml.includes(email));

  const weak = await submit(chooseHtml, '/signup/confirm', { password: 'password1' }, jar);
  assert.equal(weak.res.status, 400);
  assert.match(weak.html, /common/);
  const password = `pw-${randomToken(10)}`;
  const done = await submit(weak.html, '/signup/confirm', { password }, jar);
  assert.equal(done.res.status, 303, done.html.slice(0, 300));
  const code = locationOf(done.res, server.origin).searchParams.get('code');
  assert.ok(code, 'a code for the application');

  const tokens = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.client_id, code_verifier: verifier,
  });
  assert.equal(tokens.status, 200, tokens.text);
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', server.origin));
  const { payload } = await jwtVerify(tokens.json.id_token, jwks, { issuer: server.origin, audience: app.client_id });
  assert.equal(payload.email, email);
  assert.equal(payload.email_verified, true);
  assert.equal(payload.name, 'Grace Hopper');
  await auditHas('signup', payload.sub);
  await auditHas('email.verified', payload.sub);

  // The link made its account once; the password it set signs in.
  const reopened = await request(link, { jar: new CookieJar() });
  assert.equal(reopened.status, 409);
  assert.match(await reopened.text(), /already have an account/);
  const again = await submit(weak.html, '/signup/confirm', { password: `other-${randomToken(8)}` }, jar);
  assert.equal(again.res.status, 400, 'the form is spent (its CSRF cookie went with the code)');
  const user = { email, password };
  const next = await obtainCode(server, { app, redirectUri: REDIRECT, jar: new CookieJar(), user });
  assert.ok(next.code);
});

test('sign-up with an existing address answers the same and mails the owner a way back in', async () => {
  await server.ready;
  const app = await spa();
  const owner = await createUser(server);
  const stranger = `nobody-${randomToken(5).toLowerCase()}@example.com`;
  const answers = [];
  for (const email of [owner.email, stranger]) {
    const jar = new CookieJar();
    const { html } = await loginPage(app, jar);
    const formHtml = await (await request(linkTo(html, 'Create an account'), { jar })).text();
    const sent = await submit(formHtml, '/signup', { email }, jar);
    answers.push({ status: sent.res.status, text: sent.html.replaceAll(email, 'EMAIL').replace(/code_challenge=[^&]+/, '') });
  }
  assert.deepEqual(answers[0], answers[1], 'nothing tells which address has an account');
  const mail = await readMail(server, owner.email, { subject: /already have an account/ });
  const reset = await request(mail.link('/reset/confirm'));
  assert.equal(reset.status, 200, 'its link is a working reset link');
  await auditHas('signup', owner.id);
});

test('an application can hide sign-up', async () => {
  await server.ready;
  const app = await spa({ allow_signup: false });
  assert.equal(app.allow_signup, false);
  const { html } = await loginPage(app, new CookieJar());
  assert.equal(linkTo(html, 'Create an account'), null);
  assert.ok(linkTo(html, 'Forgot your password\\?'), 'reset stays');
});

test('a reset link sets a new password once and signs out everywhere', async () => {
  await server.ready;
  const app = await spa();
  const user = await createUser(server);
  const first = await obtainCode(server, { app, redirectUri: REDIRECT, jar: new CookieJar(), user, scope: 'openid offline_access' });
  const tokens = await tokenRequest(server, {
    grant_type: 'authorization_code', code: first.code, redirect_uri: REDIRECT, client_id: app.client_id, code_verifier: first.verifier,
  });
  assert.equal(tokens.status, 200, tokens.text);

  const jar = new CookieJar();
  const { html } = await loginPage(app, jar);
  const formHtml = await (await request(linkTo(html, 'Forgot your password\\?'), { jar })).text();
  const before = await mailCount(server);
  const sent = await submit(formHtml, '/reset', { email: user.email }, jar);
  assert.equal(sent.res.status, 200);
  assert.match(sent.html, /Check your email/);
  const mail = await readMail(server, user.email, { subject: /new password/, after: before });
  const link = mail.link('/reset/confirm');
  const choose = await request(link, { jar });
  const chooseHtml = await choose.text();
  assert.equal(choose.status, 200);
  const password = `new-${randomToken(10)}`;
  const done = await submit(chooseHtml, '/reset/confirm', { password }, jar);
  assert.equal(done.res.status, 200, done.html.slice(0, 300));
  assert.match(done.html, /signed out everywhere/);

  // Signed out everywhere: the refresh token is dead, as is the link; the new password works.
  for (let i = 0; ; i++) {
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.json.refresh_token, client_id: app.client_id });
    if (refreshed.status === 400) {
      assert.equal(refreshed.json.error, 'invalid_grant');
      break;
    }
    assert.ok(i < 30, `the refresh token still works: ${refreshed.text}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.equal((await request(link)).status, 400, 'the link worked once');
  const again = await obtainCode(server, { app, redirectUri: REDIRECT, jar: new CookieJar(), user: { ...user, password } });
  assert.ok(again.code);
  for (const event of ['password.reset_requested', 'password.changed', 'sessions.revoked']) await auditHas(event, user.id);
});
