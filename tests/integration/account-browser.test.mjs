// The account page (issue 18) in headless Chromium, the way a person uses it: /account sends
// them to the login page and back; they change their name, change their address through the
// mailed link (the mail rendered in the tab and its button clicked), revoke the third-party
// application they authorized, and sign out everywhere, then sign in again with the new
// address. Every field is found by its label; no page may throw or break its CSP; what each
// step changed is checked through the management API.
//
// The same over HTTP, with the refusals: account.test.mjs. Chromium, SCREENSHOT_DIR etc.: see
// browser.test.mjs. Screenshot: account.png (`SCREENSHOT_DIR=docs/screenshots` refreshes
// docs/screenshots/).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { useServer } from '../harness/index.mjs';
import {
  createApp, createUser, mailCount, managementApi, randomToken, readMail, tokenRequest, tokensThroughLogin, waitForIndex,
} from './helpers.mjs';
import { followMail, onPage, screenshot, signIn, submitForm, useChromium, withDiagnostics } from './spa.mjs';

const server = useServer({ mail: true });
const newSession = useChromium();
const REDIRECT = 'https://notes.example.com/callback';

/** The page's status message (role=status). */
const statusText = (page) => page.getByRole('status').innerText();

/** Clicks the account page's button `name` and waits for the page again, after `/account?done=`. */
async function accountChange(page, path, name, done) {
  const res = await submitForm(page, path, page.getByRole('button', { name, exact: true }));
  assert.equal(res.status(), 303, `POST ${path}`);
  await page.waitForURL((u) => u.pathname === '/account' && u.search === `?done=${done}`);
  return onPage(page, 'Your account');
}

test('the account page in the browser: name, address by the mailed link, revoke, sign out everywhere', { timeout: 240_000 }, async () => {
  await server.ready;
  const api = managementApi(server);
  const password = `lovelace engine ${randomToken(6)}`;
  const tag = () => randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x'); // the database is shared
  const user = await createUser(server, { name: 'Ada Lovelace', email: `ada.lovelace-${tag()}@example.com`, password });
  const app = await createApp(server, { name: 'Northwind Notes', type: 'spa', first_party: false, redirect_uris: [REDIRECT] });
  const { tokens } = await tokensThroughLogin(server, { app, user, redirectUri: REDIRECT, scope: 'openid email profile offline_access' });
  await waitForIndex(server, user.id, { grants: 1 });
  const email = `ada.king-${tag()}@example.org`;

  const session = await newSession();
  const { page, context, problems } = session;
  try {
    await withDiagnostics('account', session, async () => {
      // Signed out: the login page, then back to a clean /account.
      await page.goto(`${server.origin}/account`);
      assert.equal(new URL(page.url()).pathname, '/authorize', 'sent to the login page');
      const login = await signIn(page, user.email, password);
      assert.equal(login.status(), 303);
      await page.waitForURL((u) => u.pathname === '/account' && u.search === '');
      let text = await onPage(page, 'Your account');
      assert.ok(text.includes(`${user.email} (not verified)`), 'the address and that it is not verified');
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Ada Lovelace');
      assert.ok(text.includes('Northwind Notes'), 'the authorized application is listed');

      await page.getByLabel('Name', { exact: true }).fill('Ada King');
      text = await accountChange(page, '/account/profile', 'Save name', 'name');
      assert.equal(await statusText(page), 'Your name is saved.');
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Ada King');
      assert.equal((await api('GET', `/users/${user.id}`)).json.name, 'Ada King', 'stored');
      await screenshot(page, 'account.png');

      // A new address: the mailed link, opened in this tab, and its page's button.
      await page.getByLabel('New address', { exact: true }).fill(email);
      const before = await mailCount(server);
      await accountChange(page, '/account/email', 'Send a confirmation link', 'email');
      assert.match(await statusText(page), /We sent a link to your new address/);
      const mail = await readMail(server, email, { subject: /^Confirm your new email/, after: before });
      await followMail(page, mail, { button: 'Confirm this address', path: '/account/email/confirm' });
      assert.ok((await onPage(page, 'Confirm your new address')).includes(email), 'the page names the address');
      assert.equal((await api('GET', `/users/${user.id}`)).json.email, user.email, 'opening the link changes nothing');
      const confirmed = await submitForm(page, '/account/email/confirm', page.getByRole('button', { name: 'Use this address' }));
      assert.equal(confirmed.status(), 200);
      await onPage(page, 'Your address is changed');
      const stored = (await api('GET', `/users/${user.id}`)).json;
      assert.equal(stored.email, email);
      assert.equal(stored.email_verified, true);
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/account'),
        page.getByRole('link', { name: 'Your account', exact: true }).click(),
      ]);
      text = await onPage(page, 'Your account');
      assert.ok(text.includes(`${email} (verified)`), 'the page shows the new, verified address');

      // Revoke the application: its consent and refresh token go.
      await accountChange(page, '/account/revoke', 'Revoke Northwind Notes', 'revoked');
      assert.equal(await statusText(page), "The application's access is revoked.");
      assert.ok((await onPage(page, 'Your account')).includes('No application holds access to your account.'));
      assert.deepEqual((await api('GET', `/users/${user.id}/consents`)).json.consents, [], 'no consent stored');
      const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: app.client_id });
      assert.equal(refreshed.json?.error, 'invalid_grant', refreshed.text);

      // Sign out everywhere, then in again with the new address.
      const out = await submitForm(page, '/account/signout', page.getByRole('button', { name: 'Sign out everywhere' }));
      assert.equal(out.status(), 200);
      await onPage(page, 'You are signed out everywhere');
      assert.ok(!(await context.cookies()).some((c) => c.name === 'oidc_session'), 'the session cookie is gone');
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/authorize'),
        page.getByRole('link', { name: 'Sign in again', exact: true }).click(),
      ]);
      assert.equal((await signIn(page, email, password)).status(), 303, 'the new address signs in');
      await page.waitForURL((u) => u.pathname === '/account' && u.search === '');
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Ada King');
      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
    }, { server });
  } finally {
    await context.close();
  }
});
