// The admin dashboard (issue 8) in headless Chromium: an administrator signs in at /admin/
// through the provider's own login (code + PKCE), creates a single-page application through
// the UI and sets its redirect URI and allowed origin; then the example SPA
// (examples/spa/, oauth4webapi) on another origin logs a user in with that application,
// which exercises the CORS answers the dashboard configured. A user without the admin role
// is turned away. The users and logs views are checked against the API. Access rules
// (issue 17) are set in an application's settings and a role given on the users page. An
// application's page shows a quick start snippet for its type (issue 17). Roles are records
// of their own: the roles page creates, describes, renames and deletes them, and the users
// page and access rules choose among them.
//
// Chromium: as in browser.test.mjs (CHROMIUM_PATH); missing, this file FAILS. Screenshots
// of the main views go to SCREENSHOT_DIR (default: a temp dir; `SCREENSHOT_DIR=docs/screenshots
// node --test tests/integration/dashboard.test.mjs` refreshes the README's: run alone, the file
// has a database of its own, so the lists show only what it made).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { useServer } from '../harness/index.mjs';
import { createApp, createUser, ensureRoles, managementApi } from './helpers.mjs';
import { SCREENSHOT_DIR, launchChromium, loginWithExampleSpa, startExampleSpa, withDiagnostics } from './spa.mjs';

const STEP_TIMEOUT_MS = 30_000;

const server = useServer();
let browserPromise;
let spaPromise;

before(() => {
  browserPromise = launchChromium();
  spaPromise = startExampleSpa();
  for (const p of [browserPromise, spaPromise]) p.catch(() => {});
});

after(async () => {
  const browser = await browserPromise?.catch(() => null);
  await browser?.close();
  const spa = await spaPromise?.catch(() => null);
  await spa?.close();
});

async function newPage() {
  const browser = await browserPromise;
  const context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const log = [];
  const problems = [];
  page.on('pageerror', (err) => {
    problems.push(`uncaught: ${err.message}`);
    log.push(`pageerror ${err.message}`);
  });
  page.on('console', (msg) => log.push(`console.${msg.type()} ${msg.text()}`));
  page.on('requestfailed', (r) => log.push(`requestfailed ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => log.push(`${r.status()} ${r.request().method()} ${r.url()}`));
  // Third-party requests would break "works without third-party requests".
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['http:', 'https:'].includes(u.protocol)) return;
    if (u.origin !== server.origin && !u.hostname.startsWith('127.0.0.1')) problems.push(`third-party request: ${r.url()}`);
  });
  return { context, page, log, problems };
}

const diagnose = (name, session, fn) => withDiagnostics(name, session, fn, { server });

async function shoot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), fullPage: true });
}

/** Opens /admin/, presses Sign in and logs in through the provider's form. */
async function signIn(page, user) {
  await page.goto(`${server.origin}/admin/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('input[name="email"]').fill(user.email);
  await page.locator('input[name="password"]').fill(user.password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.pathname === '/admin/' && !u.searchParams.has('code'));
}

test('an administrator creates an SPA in the dashboard, and the example SPA on another origin logs in with it', async () => {
  await server.ready;
  const spa = await spaPromise;
  const admin = await createUser(server, { name: 'Grace Admin', roles: ['admin'] });
  const user = await createUser(server, { name: 'Ada Lovelace' });
  const session = await newPage();
  const { page, problems } = session;
  let clientId;
  const name = `Example SPA ${Date.now()}`;
  await diagnose('dashboard-create', session, async () => {
    await signIn(page, admin);
    await page.getByRole('link', { name: 'Applications' }).click();
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByLabel('Single-page app').check();
    await shoot(page, 'dashboard-create.png');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create', exact: true }).click();

    // The settings pane of the new application.
    const idField = page.getByLabel('Client ID', { exact: true });
    await idField.waitFor();
    await assertEventually(async () => (await idField.inputValue()).length > 0, 'a client id in the settings pane');
    clientId = await idField.inputValue();
    await page.getByLabel('Redirect URIs', { exact: true }).fill(`${spa.origin}/`);
    await page.getByLabel('Post-logout redirect URIs', { exact: true }).fill(`${spa.origin}/`);
    await page.getByLabel('Allowed origins', { exact: true }).fill(spa.origin);
    await page.getByLabel('Back-channel logout URI', { exact: true }).fill('https://spa.example.com/bc');
    await page.getByLabel('Logo URL', { exact: true }).fill('https://spa.example.com/logo.png');
    const signup = page.getByLabel('Offer sign-up', { exact: true });
    assert.equal(await signup.isChecked(), true, 'sign-up is offered by default');
    await signup.uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved', { exact: true }).waitFor();
    // Nothing stray (a bare "false" once sat above the title).
    assert.doesNotMatch(await page.locator('main').innerText(), /^\s*(false|true|undefined|null)\s*$/m);
    await shoot(page, 'dashboard-application.png');

    const stored = await managementApi(server)('GET', `/applications/${clientId}`);
    assert.equal(stored.status, 200, stored.text);
    assert.equal(stored.json.name, name);
    assert.equal(stored.json.type, 'spa');
    assert.deepEqual(stored.json.redirect_uris, [`${spa.origin}/`]);
    assert.deepEqual(stored.json.allowed_origins, [spa.origin]);
    assert.equal(stored.json.backchannel_logout_uri, 'https://spa.example.com/bc');
    assert.equal(stored.json.logo_uri, 'https://spa.example.com/logo.png');
    assert.equal(stored.json.allow_signup, false, 'the application hides sign-up');

    await page.getByRole('link', { name: 'Applications' }).click();
    // The list is oldest first, a page at a time, and other test files share the database.
    await loadMoreUntilShown(page, page.getByText(name).first());
    await shoot(page, 'dashboard-applications.png');
  });

  // A different browser context: no provider session, a real login through the SPA.
  const other = await newPage();
  await diagnose('dashboard-spa-login', other, async () => {
    const out = await loginWithExampleSpa(other.page, {
      spaOrigin: spa.origin,
      issuer: server.origin,
      clientId,
      email: user.email,
      password: user.password,
    });
    assert.equal(out.claims.sub, user.id);
    assert.equal(out.claims.aud, clientId);
    assert.equal(out.userinfo.sub, user.id);
    // The SPA redirects to a loopback address, so the user was asked and allowed: audited.
    const api = managementApi(server);
    let granted;
    for (let i = 0; i < 40 && !granted; i++) {
      const r = await api('GET', `/logs?event=consent.granted&client_id=${clientId}`);
      granted = r.json?.logs?.find((l) => l.user_id === user.id);
      if (!granted) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(granted, 'a consent.granted record for the SPA and the user');
  });

  await diagnose('dashboard-users-logs', session, async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await searchUsers(page, user.email);
    await shoot(page, 'dashboard-users.png');
    await page.getByRole('link', { name: 'Logs' }).click();
    // The SPA's login is in the log the dashboard shows, with the new application's name.
    const issued = page.getByRole('row').filter({ hasText: 'token.issued' }).filter({ hasText: name });
    await issued.first().waitFor();
    await shoot(page, 'dashboard-logs.png');

    // Active users (issue 17): the SPA's user counts for the new application today, in the
    // table across applications and in the application's own chart.
    await page.getByRole('link', { name: 'Activity' }).click();
    const row = page.getByRole('row').filter({ hasText: name });
    await row.first().waitFor();
    assert.equal(await row.first().getByRole('cell').nth(1).innerText(), '1', 'one active user this day');
    const chart = page.locator('figure').filter({ hasText: name });
    await chart.waitFor();
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(await chart.getByLabel(`${today}: 1 active user`, { exact: true }).isVisible(), 'today\'s bar');
    await page.getByLabel('Period').selectOption('month');
    await chart.getByLabel(`${today.slice(0, 7)}: 1 active user`, { exact: true }).waitFor();
    await shoot(page, 'dashboard-activity.png');
  });
  assert.deepEqual(problems, [], 'no page errors and no third-party requests');
  await session.context.close();
  await other.context.close();
});

test('a user without the admin role is told so and gets no access', async () => {
  await server.ready;
  const plain = await createUser(server);
  const session = await newPage();
  await diagnose('dashboard-not-admin', session, async () => {
    await signIn(session.page, plain);
    await session.page.getByText('This account is not an administrator').waitFor();
    assert.equal(await session.page.getByRole('link', { name: 'Users' }).count(), 0);
  });
  await session.context.close();
});

test('users are created, disabled, enabled, made admin and given a new password in the dashboard', async () => {
  await server.ready;
  await ensureRoles(server, ['hr']);
  const admin = await createUser(server, { roles: ['admin'] });
  const session = await newPage();
  const { page } = session;
  const email = `made-in-ui-${Date.now()}@example.com`;
  await diagnose('dashboard-users', session, async () => {
    await signIn(page, admin);
    await page.getByRole('link', { name: 'Users' }).click();
    // The create form is always shown on the users view.
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('a long enough password');
    await page.getByLabel('Name', { exact: true }).fill('Made In UI');
    // Roles are chosen among those that exist; the administrator role has its own box.
    const roles = page.getByRole('group', { name: 'Roles' });
    await roles.getByLabel('hr', { exact: true }).check();
    assert.equal(await roles.getByLabel('admin', { exact: true }).count(), 0, 'admin is the Administrator box');
    await page.getByRole('button', { name: 'Create user' }).click();
    const row = page.getByRole('row').filter({ hasText: email });
    await row.waitFor();
    const api = managementApi(server);
    const found = await api('GET', `/users?q=${encodeURIComponent(email)}`);
    assert.equal(found.json.users.length, 1, found.text);
    const id = found.json.users[0].id;
    assert.deepEqual(found.json.users[0].roles, ['hr']);

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('button', { name: 'Enable' }).waitFor();
    assert.equal((await api('GET', `/users/${id}`)).json.disabled, true);
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByRole('button', { name: 'Disable' }).waitFor();
    assert.equal((await api('GET', `/users/${id}`)).json.disabled, false);

    await row.getByRole('button', { name: 'Make admin' }).click();
    await row.getByRole('button', { name: 'Remove admin' }).waitFor();
    assert.deepEqual((await api('GET', `/users/${id}`)).json.roles, ['hr', 'admin']);
    await row.getByRole('button', { name: 'Remove admin' }).click();
    await row.getByRole('button', { name: 'Make admin' }).waitFor();
    assert.deepEqual((await api('GET', `/users/${id}`)).json.roles, ['hr']);

    // Reset password: the new one signs in to the dashboard's login (as a non-admin).
    await row.getByRole('button', { name: 'Reset password' }).click();
    await page.getByLabel('New password', { exact: true }).fill('the reset password');
    await page.getByRole('button', { name: 'Set password', exact: true }).click();
    await page.getByText(`Password of ${email} changed`).waitFor();
    const other = await newPage();
    await signIn(other.page, { email, password: 'the reset password' });
    await other.page.getByText('This account is not an administrator').waitFor();
    await other.context.close();
  });
  await session.context.close();
});

test('access rules are set in an application\'s settings and roles are given on the users page', async () => {
  await server.ready;
  // Users and access rules take only roles that exist (the server is shared: they may).
  const api = managementApi(server);
  const described = { hr: 'People team', 'payroll:read': 'Sees pay slips' };
  await ensureRoles(server, Object.keys(described));
  for (const [name, description] of Object.entries(described)) {
    const r = await api('PATCH', `/roles/${name}`, { description });
    assert.equal(r.status, 200, r.text);
  }
  const admin = await createUser(server, { roles: ['admin'] });
  const user = await createUser(server, { name: 'Harriet HR' });
  const app = await createApp(server, {
    name: `Payroll ${Date.now()}`, type: 'traditional', redirect_uris: ['https://payroll.example.com/cb'],
  });
  const session = await newPage();
  const { page, problems } = session;
  await diagnose('dashboard-access', session, async () => {
    await signIn(page, admin);
    await openApplication(page, app.client_id);
    const section = page.getByRole('group', { name: 'Who may use this application' });
    await section.waitFor();
    // Required roles: a box for each role there is.
    const roles = section.getByRole('group', { name: 'Required roles' });
    const hr = roles.getByLabel('hr', { exact: true });
    const countries = section.getByLabel('Allowed countries', { exact: true });
    const domains = section.getByLabel('Allowed email domains', { exact: true });
    await hr.waitFor();
    assert.ok(await roles.getByLabel('payroll:read', { exact: true }).isVisible());
    assert.equal(await roles.getByRole('checkbox', { checked: true }).count(), 0, 'no rules yet');

    // The API's error, naming the list, is shown as the form shows any other.
    await hr.check();
    await countries.fill('USA');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('access_rules.countries: a list of two-letter country codes').waitFor();
    assert.deepEqual((await api('GET', `/applications/${app.client_id}`)).json.access_rules.roles, [], 'nothing saved');

    // Commas, spaces or both; countries come back upper-cased, domains lower-cased.
    await countries.fill('us, ca');
    await domains.fill('Example.com example.org');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved', { exact: true }).waitFor();
    assert.equal(await page.getByRole('alert').filter({ hasText: 'access_rules' }).count(), 0, 'the error is gone');
    const stored = await api('GET', `/applications/${app.client_id}`);
    assert.equal(stored.status, 200, stored.text);
    assert.deepEqual(stored.json.access_rules, { roles: ['hr'], countries: ['US', 'CA'], email_domains: ['example.com', 'example.org'] });
    assert.ok(await hr.isChecked(), 'redrawn from the answer');
    assert.equal(await roles.getByRole('checkbox', { checked: true }).count(), 1);
    assert.equal(await countries.inputValue(), 'US, CA');
    assert.equal(await domains.inputValue(), 'example.com, example.org');
    await shootSection(page, section, 'dashboard-access.png');

    // The users page: roles checked among those there are, with the admin toggle beside it.
    await page.getByRole('link', { name: 'Users' }).click();
    const row = await searchUsers(page, user.email);
    const dialog = page.getByRole('dialog');
    const picked = dialog.getByRole('group', { name: 'Roles' });
    await row.getByRole('button', { name: 'Edit roles' }).click();
    await picked.getByLabel('hr', { exact: true }).check();
    await picked.getByLabel('payroll:read', { exact: true }).check();
    await dialog.getByRole('button', { name: 'Save roles' }).click();
    await row.getByRole('cell', { name: 'hr, payroll:read', exact: true }).waitFor();
    assert.deepEqual((await api('GET', `/users/${user.id}`)).json.roles, ['hr', 'payroll:read']);
    await row.getByRole('button', { name: 'Make admin' }).click();
    await row.getByRole('button', { name: 'Remove admin' }).waitFor();
    assert.deepEqual((await api('GET', `/users/${user.id}`)).json.roles, ['hr', 'payroll:read', 'admin']);
    await row.getByRole('button', { name: 'Remove admin' }).click();
    await row.getByRole('button', { name: 'Make admin' }).waitFor();
    assert.deepEqual((await api('GET', `/users/${user.id}`)).json.roles, ['hr', 'payroll:read']);

    // A role deleted while the dialog is open: the API's error stays in it, nothing changes.
    const gone = `gone-${Date.now()}`;
    await ensureRoles(server, [gone]);
    await row.getByRole('button', { name: 'Edit roles' }).click();
    await picked.getByLabel('payroll:read', { exact: true }).uncheck();
    await picked.getByLabel(gone, { exact: true }).check();
    assert.equal((await api('DELETE', `/roles/${gone}`)).status, 204);
    await dialog.getByRole('button', { name: 'Save roles' }).click();
    await dialog.getByRole('alert').filter({ hasText: `roles: no such role: ${gone}` }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual((await api('GET', `/users/${user.id}`)).json.roles, ['hr', 'payroll:read']);

    // An administrator cannot drop their own admin role through the dialog either.
    const own = await searchUsers(page, admin.email);
    await own.getByRole('button', { name: 'Edit roles' }).click();
    const ownAdmin = picked.getByLabel('admin', { exact: true });
    await ownAdmin.waitFor();
    assert.ok(await ownAdmin.isChecked(), 'admin is checked');
    assert.ok(await ownAdmin.isDisabled(), 'and cannot be unchecked');
    await picked.getByLabel('hr', { exact: true }).check();
    await dialog.getByRole('button', { name: 'Save roles' }).click();
    await own.getByRole('cell', { name: 'admin, hr', exact: true }).waitFor();
    assert.deepEqual((await api('GET', `/users/${admin.id}`)).json.roles, ['admin', 'hr']);

    // Emptied, the rules admit everyone again.
    await openApplication(page, app.client_id);
    await hr.waitFor();
    await hr.uncheck();
    for (const input of [countries, domains]) await input.fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved', { exact: true }).waitFor();
    assert.deepEqual((await api('GET', `/applications/${app.client_id}`)).json.access_rules, { roles: [], countries: [], email_domains: [] });
  });
  assert.deepEqual(problems, [], 'no page errors and no third-party requests');
  await session.context.close();
});

test('roles are created, described, renamed and deleted on the roles page', async () => {
  await server.ready;
  const admin = await createUser(server, { roles: ['admin'] });
  const api = managementApi(server);
  const stamp = Date.now().toString(36);
  const name = `auditor-${stamp}`;
  const renamed = `books.auditor-${stamp}`;
  const session = await newPage();
  const { page, problems } = session;
  /** The row of the role named `n`. */
  const row = (n) => page.getByRole('row').filter({ has: page.getByText(n, { exact: true }) });
  const users = (n) => row(n).getByRole('cell').nth(2);
  const dialog = page.getByRole('dialog');
  await diagnose('dashboard-roles', session, async () => {
    await signIn(page, admin);
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('heading', { name: 'Roles', level: 1 }).waitFor();

    // The built-in admin role can be described, not renamed or deleted.
    await row('admin').getByText('built-in', { exact: true }).waitFor();
    assert.equal(await row('admin').getByRole('button', { name: 'Edit description' }).count(), 1);
    assert.equal(await row('admin').getByRole('button', { name: 'Rename' }).count(), 0);
    assert.equal(await row('admin').getByRole('button', { name: 'Delete' }).count(), 0);

    // Created from the page; a name the API refuses first, with its word for it.
    await page.getByLabel('Name', { exact: true }).fill('ledger auditor');
    await page.getByLabel('Description', { exact: true }).fill('Audits the books');
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('alert').filter({ hasText: 'name: letters, digits' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByText(`Created ${name}`).waitFor();
    await row(name).getByRole('cell', { name: 'Audits the books', exact: true }).waitFor();
    const made = await api('GET', `/roles/${name}`);
    assert.equal(made.status, 200, made.text);
    assert.equal(made.json.description, 'Audits the books');
    assert.equal(made.json.users, 0);
    assert.equal(await users(name).innerText(), '0');
    // Twice: the API's conflict is shown.
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('alert').filter({ hasText: 'a role with this name exists already' }).waitFor();

    // A user holds it and an application requires it: the list says so.
    const holder = await createUser(server, { roles: [name] });
    const app = await createApp(server, {
      name: `Ledger ${stamp}`, type: 'traditional', redirect_uris: ['https://ledger.example.com/cb'], access_rules: { roles: [name] },
    });
    await page.reload();
    await row(name).getByRole('link', { name: app.client_id }).waitFor();
    assert.equal(await users(name).innerText(), '1');

    // Renamed: its user and the application's rules follow.
    await row(name).getByRole('button', { name: 'Rename' }).click();
    await dialog.getByLabel('New name', { exact: true }).fill(renamed);
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await row(renamed).waitFor();
    assert.equal(await row(name).count(), 0, 'the old name is gone');
    assert.equal(await users(renamed).innerText(), '1');
    assert.equal((await api('GET', `/roles/${name}`)).status, 404);
    const moved = await api('GET', `/roles/${renamed}`);
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.json.description, 'Audits the books');
    assert.equal(moved.json.users, 1);
    assert.deepEqual(moved.json.applications, [app.client_id]);
    assert.deepEqual((await api('GET', `/users/${holder.id}`)).json.roles, [renamed]);
    assert.deepEqual((await api('GET', `/applications/${app.client_id}`)).json.access_rules.roles, [renamed]);

    // Described anew.
    await row(renamed).getByRole('button', { name: 'Edit description' }).click();
    await dialog.getByLabel('Description', { exact: true }).fill('Reads the ledgers');
    await dialog.getByRole('button', { name: 'Save description' }).click();
    await row(renamed).getByRole('cell', { name: 'Reads the ledgers', exact: true }).waitFor();
    assert.equal((await api('GET', `/roles/${renamed}`)).json.description, 'Reads the ledgers');
    // Not with the toast over the list: once it has gone, and faded.
    await page.locator('#toast.on').waitFor({ state: 'detached' });
    await page.waitForTimeout(300);
    await shoot(page, 'dashboard-roles.png');

    // Deleting it is refused while the application's rules require it: the API says which.
    await row(renamed).getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('alert').filter({ hasText: `the access rules of ${app.client_id} require this role` }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await api('GET', `/roles/${renamed}`)).status, 200, 'still there');

    // Out of the rules, it goes, and from its user too.
    const opened = await api('PATCH', `/applications/${app.client_id}`, { access_rules: { roles: [] } });
    assert.equal(opened.status, 200, opened.text);
    await page.reload();
    await row(renamed).getByText('No application', { exact: true }).waitFor();
    await row(renamed).getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row(renamed).waitFor({ state: 'detached' });
    assert.equal((await api('GET', `/roles/${renamed}`)).status, 404);
    assert.deepEqual((await api('GET', `/users/${holder.id}`)).json.roles, []);
  });
  assert.deepEqual(problems, [], 'no page errors and no third-party requests');
  await session.context.close();
});

test('an application\'s page shows a quick start snippet for its type, with its client id', async () => {
  await server.ready;
  const admin = await createUser(server, { roles: ['admin'] });
  const app = await createApp(server, {
    name: `Web shop ${Date.now()}`, type: 'traditional', redirect_uris: ['https://shop.example.com/callback'],
  });
  const daemon = await createApp(server, { name: `Nightly job ${Date.now()}`, type: 'm2m' });
  const session = await newPage();
  const { page, problems } = session;
  await diagnose('dashboard-quickstart', session, async () => {
    await signIn(page, admin);
    await openApplication(page, app.client_id);
    const section = page.getByRole('region', { name: 'Quick start' });
    await section.waitFor();
    const code = await section.locator('pre').innerText();
    assert.ok(code.includes(`"${app.client_id}"`), `the client id in the snippet:\n${code}`);
    assert.ok(code.includes(`new URL("${server.origin}")`), 'the issuer');
    assert.ok(code.includes('"https://shop.example.com/callback"'), 'the redirect URI');
    assert.match(code, /from 'openid-client'/);
    assert.match(code, /client\.ClientSecretBasic\(process\.env\.CLIENT_SECRET\)/);
    assert.ok(!code.includes(app.client_secret), 'never the secret');
    assert.ok(await section.getByRole('button', { name: 'Copy quick start snippet' }).isVisible());
    await shootSection(page, section, 'dashboard-quickstart.png');

    // Saving another redirect URI first redraws the snippet.
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://shop.example.com/auth/cb');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved', { exact: true }).waitFor();
    assert.ok((await section.locator('pre').innerText()).includes('"https://shop.example.com/auth/cb"'));

    // Another type, another snippet: curl for a machine-to-machine application.
    await openApplication(page, daemon.client_id);
    await page.getByRole('heading', { name: daemon.name }).waitFor();
    const curl = await page.getByRole('region', { name: 'Quick start' }).locator('pre').innerText();
    assert.match(curl, /^curl -sS /m);
    assert.ok(curl.includes(`'${daemon.client_id}'":$CLIENT_SECRET"`), curl);
    assert.match(curl, /grant_type=client_credentials/);
  });
  assert.deepEqual(problems, [], 'no page errors and no third-party requests');
  await session.context.close();
});

/** A screenshot of one part of the page (with a margin of the card around it). */
async function shootSection(page, section, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  // Centred, so the margin above it is not cut off at the top of the viewport.
  await section.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  const box = await section.boundingBox();
  const m = 16;
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), clip: { x: box.x - m, y: box.y - m, width: box.width + 2 * m, height: box.height + 2 * m } });
}

/**
 * Searches the users page for `email` and waits for the list to be that user's row alone:
 * a row of the list from before the search would be replaced under the test's hands.
 */
async function searchUsers(page, email) {
  await page.getByLabel('Search').fill(email);
  const rows = page.locator('main tbody tr');
  await assertEventually(async () => (await rows.count()) === 1 && (await rows.first().innerText()).includes(email), `the users searched for ${email}`);
  return page.getByRole('row').filter({ hasText: email });
}

/** Opens an application's page in the dashboard (its route, as a link in the list would). */
function openApplication(page, clientId) {
  return page.evaluate((id) => { location.hash = `#/applications/${encodeURIComponent(id)}`; }, clientId);
}

/**
 * Presses the list's "Load more" until `item` is shown (or there is no more to load). The
 * button is pressed from the page itself: it hides once the last page is in, and
 * Playwright's actionability waits then hang on a button that is gone.
 */
async function loadMoreUntilShown(page, item) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline && !(await item.isVisible())) {
    const pressed = await page.evaluate(() => {
      const more = [...document.querySelectorAll('button')].find(
        (b) => b.textContent.trim() === 'Load more' && !b.hidden && !b.disabled,
      );
      more?.click();
      return Boolean(more);
    });
    await new Promise((r) => setTimeout(r, pressed ? 300 : 100));
  }
  await item.waitFor();
}

async function assertEventually(check, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}
