// People help themselves (issue 18), in headless Chromium through the real pages, the way a
// person does it: the provider's demo SPA (/demo/) is the application. Sign-up from its login
// page ("Create an account"), the confirmation mail read from the local mail sink and rendered
// in the tab, its button clicked, a weak password refused, then a strong one: the demo shows
// the new, verified user; a fresh browser signs in with that password. Reset from "Forgot your
// password?" through the mailed link: the new password signs in, the old one does not, and a
// browser that was signed in is signed out. Every field is found by its label; no page may
// throw or break its CSP.
//
// The same flows over HTTP: selfservice.test.mjs. Chromium, SCREENSHOT_DIR etc.: see
// browser.test.mjs. Screenshots: signup.png, signup-mail.png, signup-password.png, reset.png,
// reset-done.png (`SCREENSHOT_DIR=docs/screenshots` refreshes docs/screenshots/).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { useServer } from '../harness/index.mjs';
import { createApp, createUser, mailCount, managementApi, randomToken, readMail } from './helpers.mjs';
import {
  alertText, followMail, onPage, openDemoLogin, screenshot, signIn, submitForm, useChromium, withDiagnostics,
} from './spa.mjs';

const server = useServer({ vars: { SIGNUP_ENABLED: 'true' }, mail: true });
const newSession = useChromium();
const diagnose = (name, session, fn) => withDiagnostics(`selfservice-${name}`, session, fn, { server });

/** An SPA whose redirect URI is the demo's (the pages and the mails show its name). */
async function demoApp() {
  await server.ready;
  const origin = server.origin;
  return createApp(server, {
    name: 'Northwind Notes',
    type: 'spa',
    redirect_uris: [`${origin}/demo/`],
    allowed_origins: [origin],
  });
}

/**
 * Opens the demo's login page, follows its link `link` to the form at `path` headed `heading`
 * (which must name the application) and fills in the form's Email.
 */
async function fromLoginPage(page, app, { link, path, heading, email }) {
  await openDemoLogin(page, server.origin, app.client_id);
  await onPage(page, 'Sign in');
  await Promise.all([
    page.waitForURL((u) => u.pathname === path),
    page.getByRole('link', { name: link, exact: true }).click(),
  ]);
  assert.ok((await onPage(page, heading)).includes(app.name), `"${heading}" names the application`);
  await page.getByLabel('Email', { exact: true }).fill(email);
}

/**
 * Allows the consent page (the demo's redirect URI is on loopback, so there is one, RFC 8252
 * §8.6) and waits for the demo to show the signed-in user or an error; returns what it shows.
 */
async function demoSignedIn(page) {
  const allow = page.getByRole('button', { name: 'Allow' });
  await allow.waitFor({ state: 'visible' });
  await Promise.all([page.waitForURL((u) => u.pathname === '/demo/'), allow.click()]);
  await page.locator('#logged-in:visible, #error:not(:empty)').first().waitFor();
  assert.equal(await page.locator('#error').textContent(), '', 'the demo shows no error');
  return {
    claims: JSON.parse(await page.locator('#claims').textContent()),
    userinfo: JSON.parse(await page.locator('#userinfo').textContent()),
    text: await page.locator('#logged-in').innerText(),
  };
}

/** The accounts the management API finds for `email`. */
async function usersNamed(email) {
  const r = await managementApi(server)('GET', `/users?q=${encodeURIComponent(email)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.users.filter((u) => u.email === email);
}

test('sign-up in the browser: from the login page through the mailed link to the app, then a new login', { timeout: 240_000 }, async () => {
  const app = await demoApp();
  const email = `grace-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}@example.com`; // the database is shared
  const password = `correct horse ${randomToken(6)}`;
  const session = await newSession();
  const { page, context, problems } = session;
  let sub;
  try {
    await diagnose('signup', session, async () => {
      await fromLoginPage(page, app, { link: 'Create an account', path: '/signup', heading: 'Create an account', email });
      await page.getByLabel('Name (optional)').fill('Grace Hopper');
      await screenshot(page, 'signup.png');
      const before = await mailCount(server);
      const sent = await submitForm(page, '/signup', page.getByRole('button', { name: 'Continue' }));
      assert.equal(sent.status(), 200);
      assert.ok((await onPage(page, 'Check your email')).includes(email), 'the page names the address');
      assert.deepEqual(await usersNamed(email), [], 'no account before the link is opened');

      const mail = await readMail(server, email, { subject: /^Confirm your email/, after: before });
      assert.equal(mail.subject, `Confirm your email for ${app.name}`);
      await followMail(page, mail, { button: 'Confirm and create my account', path: '/signup/confirm', shot: 'signup-mail.png' });

      assert.ok((await onPage(page, 'Choose your password')).includes(email), 'the page names the address');
      const field = page.getByLabel('Password', { exact: true });
      assert.equal(await field.getAttribute('type'), 'password');
      assert.equal(await field.getAttribute('autocomplete'), 'new-password', 'password managers offer a new one');
      const create = page.getByRole('button', { name: 'Create account' });
      for (const [weak, why] of [['short', /at least 8 characters/], [email, /email address/], ['password1', /most common/]]) {
        await field.fill(weak);
        const refused = await submitForm(page, '/signup/confirm', create);
        assert.equal(refused.status(), 400, `"${weak}" is refused`);
        assert.match(await alertText(page), why);
        await onPage(page, 'Choose your password');
        assert.equal(await field.inputValue(), '', 'the refused password is not echoed back');
      }
      await screenshot(page, 'signup-password.png');
      assert.deepEqual(await usersNamed(email), [], 'opening the link and refused passwords make no account');

      await field.fill(password);
      const created = await submitForm(page, '/signup/confirm', create);
      // The account is made, its session started, and the authorization request goes on: to
      // the consent page, shown in the answer.
      assert.equal(created.status(), 200, 'the account is made');
      const { claims, userinfo, text } = await demoSignedIn(page);
      assert.equal(claims.email, email);
      assert.equal(claims.email_verified, true, 'the mailed link proved the address');
      assert.equal(claims.name, 'Grace Hopper');
      assert.equal(userinfo.email, email);
      assert.equal(userinfo.email_verified, true);
      assert.ok(text.includes(email), 'the demo shows the email');
      sub = claims.sub;

      const [stored, ...more] = await usersNamed(email);
      assert.equal(more.length, 0, 'one account');
      assert.equal(stored.id, sub, 'the ID token names the stored account');
      assert.equal(stored.email_verified, true, 'stored as verified');
      assert.equal(stored.name, 'Grace Hopper');
      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
    });
  } finally {
    await context.close();
  }

  // Another browser: the password chosen on the page signs in.
  const again = await newSession();
  try {
    await diagnose('signup-login', again, async () => {
      await openDemoLogin(again.page, server.origin, app.client_id);
      const login = await signIn(again.page, email, password);
      assert.equal(login.status(), 200, 'POST /login with the new password (answered with the consent page)');
      const { claims } = await demoSignedIn(again.page);
      assert.equal(claims.sub, sub);
      assert.deepEqual(again.problems, [], 'no uncaught errors or CSP violations');
    });
  } finally {
    await again.context.close();
  }
});

test('reset in the browser: the mailed link sets a new password, the old one fails, other browsers are signed out', { timeout: 240_000 }, async () => {
  const app = await demoApp();
  const user = await createUser(server, { name: 'Ada Lovelace' });
  const password = `analytical engine ${randomToken(6)}`;

  // A browser signed in before the reset.
  const earlier = await newSession();
  const session = await newSession();
  const { page, problems } = session;
  try {
    await diagnose('reset-earlier', earlier, async () => {
      await openDemoLogin(earlier.page, server.origin, app.client_id);
      await signIn(earlier.page, user.email, user.password);
      assert.equal((await demoSignedIn(earlier.page)).claims.sub, user.id);
    });

    await diagnose('reset', session, async () => {
      const link = 'Forgot your password?';
      await fromLoginPage(page, app, { link, path: '/reset', heading: link, email: user.email });
      await screenshot(page, 'reset.png');
      const before = await mailCount(server);
      const sent = await submitForm(page, '/reset', page.getByRole('button', { name: 'Send the link' }));
      assert.equal(sent.status(), 200);
      assert.ok((await onPage(page, 'Check your email')).includes(user.email), 'the page names the address');

      const mail = await readMail(server, user.email, { subject: /^Set a new password/, after: before });
      assert.equal(mail.subject, `Set a new password for ${app.name}`);
      await followMail(page, mail, { button: 'Set a new password', path: '/reset/confirm' });
      assert.ok((await onPage(page, 'Set a new password')).includes(user.email), 'the page names the address');
      const field = page.getByLabel('Password', { exact: true });
      assert.equal(await field.getAttribute('autocomplete'), 'new-password');
      const set = page.getByRole('button', { name: 'Set password' });
      await field.fill('password123');
      assert.equal((await submitForm(page, '/reset/confirm', set)).status(), 400, 'a common password is refused');
      assert.match(await alertText(page), /most common/);
      await field.fill(password);
      assert.equal((await submitForm(page, '/reset/confirm', set)).status(), 200);
      const done = await onPage(page, 'Your password is changed');
      assert.match(done, /signed out everywhere/);
      await screenshot(page, 'reset-done.png');

      // "Sign in" goes back to the demo's authorization request.
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/authorize'),
        page.getByRole('link', { name: 'Sign in', exact: true }).click(),
      ]);
      const old = await signIn(page, user.email, user.password);
      assert.equal(old.status(), 401, 'the old password no longer signs in');
      assert.match(await alertText(page), /Invalid email or password/);
      assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), user.email, 'the email is kept');
      const login = await signIn(page, user.email, password);
      assert.equal(login.status(), 200, 'the new password signs in (answered with the consent page)');
      const { claims } = await demoSignedIn(page);
      assert.equal(claims.sub, user.id);
      assert.equal(claims.email, user.email);
      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
    });

    // The earlier browser's provider session is gone: logging in again asks for the password.
    await diagnose('reset-signed-out', earlier, async () => {
      await earlier.page.getByRole('button', { name: 'Log out' }).click();
      await openDemoLogin(earlier.page, server.origin, app.client_id);
      await onPage(earlier.page, 'Sign in');
      assert.deepEqual(earlier.problems, [], 'no uncaught errors or CSP violations');
    });
  } finally {
    await earlier.context.close();
    await session.context.close();
  }
});
