// End-to-end test in a real browser: headless Chromium (Debian's, driven by playwright-core)
// opens the demo single-page app at /demo/, logs in through the provider's login page and
// checks what the app shows (ID-token claims and /userinfo) against the user created through
// the management API. Also: a wrong password stays on the login page with an error.
//
// Chromium comes from scripts/install-chromium.sh (apt). If it is missing this file FAILS: it
// does not skip. Knobs:
//   CHROMIUM_PATH   browser binary (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where login.png and demo.png go (default: a temp dir, so test runs leave the
//                   repo clean; `SCREENSHOT_DIR=docs/screenshots` refreshes the README's)
//   BROWSER_HEADED=1  show the window (needs a display)

import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import { useServer } from '../harness/index.mjs';
import { CookieJar, authorizeUrl, createApp, createUser, obtainCode, pkcePair, tokenRequest } from './helpers.mjs';
import { openDemoLogin, screenshot, useChromium, withDiagnostics } from './spa.mjs';

const server = useServer();

/** A fresh context (no cookies, no storage) and page, with diagnostics collected. */
const newPage = useChromium();

const diagnose = (name, session, fn) => withDiagnostics(name, session, fn, { server });

async function setUp() {
  await server.ready;
  const origin = server.origin;
  const app = await createApp(server, {
    name: 'Browser demo',
    type: 'spa',
    redirect_uris: [`${origin}/demo/`],
    allowed_origins: [origin],
  });
  assert.ok(app.client_id, `application has a client_id: ${JSON.stringify(app)}`);
  const user = await createUser(server, { name: 'Ada Lovelace' });
  assert.ok(user.id, `user has an id: ${JSON.stringify(user)}`);
  return { origin, app, user };
}

test('demo SPA: log in through the login page in Chromium and see the user', { timeout: 180_000 }, async () => {
  const { origin, app, user } = await setUp();
  const session = await newPage();
  const { page, context, problems } = session;
  try {
    await diagnose('login', session, async () => {
      const authorize = await openDemoLogin(page, origin, app.client_id);

      // The login page: a 200 HTML page that must never be framed.
      assert.equal(authorize.status(), 200, `GET /authorize status`);
      const csp = authorize.headers()['content-security-policy'];
      assert.ok(csp, 'login page has a Content-Security-Policy header');
      assert.match(csp, /(^|;)\s*frame-ancestors\s+'none'\s*(;|$)/, `CSP: ${csp}`);
      const authUrl = new URL(authorize.url());
      assert.equal(authUrl.searchParams.get('client_id'), app.client_id);
      assert.equal(authUrl.searchParams.get('redirect_uri'), `${origin}/demo/`);
      assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');

      const email = page.locator('input[name="email"]');
      const password = page.locator('input[name="password"]');
      await email.waitFor({ state: 'visible' });
      await password.waitFor({ state: 'visible' });
      assert.equal(await password.getAttribute('type'), 'password');
      // The CSP allows the inline style block by its hash only: a wrong hash would leave the
      // button unstyled (and report a violation, checked at the end).
      assert.doesNotMatch(csp, /unsafe-inline/, `CSP: ${csp}`);
      const button = page.getByRole('button', { name: 'Continue' });
      assert.equal(
        await button.evaluate((b) => getComputedStyle(b).backgroundColor),
        'rgb(38, 86, 217)',
        'the page style applies under the CSP',
      );
      await email.fill(user.email);
      await password.fill(user.password);
      await screenshot(page, 'login.png');

      // Submit: the demo's redirect URI is on a loopback host, so the provider asks for
      // consent even for a first-party app (RFC 8252 §8.6) before it sends the code.
      await page.getByRole('button', { name: 'Continue' }).click();
      const allow = page.getByRole('button', { name: 'Allow' });
      await allow.waitFor({ state: 'visible' });
      const consentText = await page.locator('main').innerText();
      assert.ok(consentText.includes('Browser demo'), 'the consent page names the application');
      assert.ok(consentText.includes(`127.0.0.1:${new URL(origin).port}`), 'and where the user is sent');
      await screenshot(page, 'consent.png');
      // Allow: POST /consent -> 303 to /demo/?code=&state=&iss= -> the app exchanges the code.
      await Promise.all([page.waitForURL((u) => u.pathname === '/demo/'), allow.click()]);
      const loggedIn = page.locator('#logged-in');
      await loggedIn.waitFor({ state: 'visible' });
      assert.equal(await page.locator('#error').textContent(), '', 'no error shown');
      // The app strips code/state/iss from the address bar.
      assert.equal(new URL(page.url()).search, '', `address bar cleared: ${page.url()}`);

      const claims = JSON.parse(await page.locator('#claims').textContent());
      const userinfo = JSON.parse(await page.locator('#userinfo').textContent());
      assert.equal(claims.sub, user.id, 'ID token sub is the user id from POST /api/v1/users');
      assert.equal(claims.iss, origin, 'ID token iss');
      assert.ok(
        claims.aud === app.client_id || (Array.isArray(claims.aud) && claims.aud.includes(app.client_id)),
        `ID token aud: ${JSON.stringify(claims.aud)}`,
      );
      assert.equal(typeof claims.nonce, 'string');
      assert.ok(claims.exp > claims.iat, 'exp after iat');
      assert.equal(userinfo.sub, user.id, 'userinfo sub');
      assert.equal(userinfo.email, user.email, 'userinfo email');
      assert.equal(userinfo.name, 'Ada Lovelace', 'userinfo name');
      // The page text itself shows them (not only the parsed JSON).
      const text = await loggedIn.innerText();
      assert.ok(text.includes(user.id), 'page shows the sub');
      assert.ok(text.includes(user.email), 'page shows the email');

      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
      await screenshot(page, 'demo.png');
    });
  } finally {
    await context.close();
  }
});

test('demo SPA: a wrong password shows an error and does not redirect', { timeout: 180_000 }, async () => {
  const { origin, app, user } = await setUp();
  const session = await newPage();
  const { page, context, problems } = session;
  try {
    await diagnose('wrong-password', session, async () => {
      const authorize = await openDemoLogin(page, origin, app.client_id);
      assert.equal(authorize.status(), 200);
      await page.locator('input[name="email"]').fill(user.email);
      await page.locator('input[name="password"]').fill(`${user.password}-wrong`);

      const [post] = await Promise.all([
        page.waitForResponse(
          (r) => r.request().isNavigationRequest() && r.request().method() === 'POST',
        ),
        page.getByRole('button', { name: 'Continue' }).click(),
      ]);
      await page.waitForLoadState('load');
      assert.equal(new URL(post.url()).pathname, '/login', `form posted to ${post.url()}`);
      assert.equal(post.status(), 401, 'POST /login with a wrong password');
      assert.equal(post.headers().location, undefined, 'no Location header');
      assert.match(post.headers()['content-security-policy'] ?? '', /frame-ancestors\s+'none'/);

      assert.match(await page.locator('body').innerText(), /Invalid email or password/);
      const url = new URL(page.url());
      assert.equal(url.pathname, '/login', `still on the login page: ${page.url()}`);
      assert.equal(url.searchParams.get('code'), null);
      // The form is there again, email kept, password not echoed back.
      assert.equal(await page.locator('input[name="email"]').inputValue(), user.email);
      assert.equal(await page.locator('input[name="password"]').inputValue(), '');
      // Nothing reached the redirect URI.
      const reachedDemo = session.log.some((l) => / GET .*\/demo\/\?/.test(l) && l.includes('code='));
      assert.equal(reachedDemo, false, 'no redirect to /demo/ with a code');
      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
    });
  } finally {
    await context.close();
  }
});

test('response_mode=form_post: the page posts the code to the redirect URI, no inline script', { timeout: 180_000 }, async () => {
  await server.ready;
  // The relying party: a plain HTTP server on loopback that records what is POSTed to it.
  const received = [];
  const rp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p id="rp">received</p>');
    });
  });
  await new Promise((r) => rp.listen(0, '127.0.0.1', r));
  const redirectUri = `http://127.0.0.1:${rp.address().port}/cb`;
  const app = await createApp(server, { name: 'Form post RP', type: 'spa', redirect_uris: [redirectUri] });
  const user = await createUser(server);
  const { verifier, challenge } = pkcePair();
  const session = await newPage();
  const { page, context, problems } = session;
  try {
    await diagnose('form_post', session, async () => {
      await page.goto(String(authorizeUrl(server, {
        response_type: 'code', response_mode: 'form_post', client_id: app.client_id, redirect_uri: redirectUri,
        scope: 'openid', state: 'fp-1', code_challenge: challenge, code_challenge_method: 'S256',
      })));
      await page.locator('input[name="email"]').fill(user.email);
      await page.locator('input[name="password"]').fill(user.password);
      await page.getByRole('button', { name: 'Continue' }).click();
      // A loopback redirect URI: consent first (RFC 8252 §8.6), then the self-posting page.
      const allow = page.getByRole('button', { name: 'Allow' });
      await allow.waitFor({ state: 'visible' });
      await Promise.all([page.waitForURL(redirectUri), allow.click()]);
      await page.locator('#rp').waitFor({ state: 'visible' });
      const posts = received.filter((r) => r.url !== '/favicon.ico');
      assert.equal(posts.length, 1, JSON.stringify(received));
      const [post] = posts;
      assert.equal(post.method, 'POST');
      assert.equal(post.url, '/cb');
      assert.match(post.type, /application\/x-www-form-urlencoded/);
      const fields = new URLSearchParams(post.body);
      assert.equal(fields.get('state'), 'fp-1');
      assert.equal(fields.get('iss'), server.origin);
      const t = await tokenRequest(server, {
        grant_type: 'authorization_code', code: fields.get('code'), redirect_uri: redirectUri,
        code_verifier: verifier, client_id: app.client_id,
      });
      assert.equal(t.status, 200, t.text);
      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
    });
  } finally {
    await context.close();
    rp.close();
  }
});

// Issue 17: a page on an origin the application does not allow posts a real code to /token
// (a simple request: no preflight). The browser hides the answer, and the provider refuses
// it before the code is spent, so the code still works from the application's own backend.
test('a code posted from a disallowed browser origin is refused and not spent', { timeout: 120_000 }, async () => {
  await server.ready;
  const redirectUri = 'https://cors-rp.example/cb';
  const app = await createApp(server, { type: 'spa', redirect_uris: [redirectUri], allowed_origins: ['https://cors-rp.example'] });
  const user = await createUser(server);
  const { code, verifier } = await obtainCode(server, { app, redirectUri, jar: new CookieJar(), user });
  // The other origin: a loopback server with one blank page.
  const site = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>elsewhere</p>'));
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  const session = await newPage();
  try {
    await diagnose('cors-refused', session, async () => {
      const { page } = session;
      await page.goto(`http://127.0.0.1:${site.address().port}/`);
      const outcome = await page.evaluate(async ({ url, body }) => {
        try {
          const r = await fetch(url, { method: 'POST', body: new URLSearchParams(body) });
          return `read ${r.status}`;
        } catch (e) {
          return `blocked: ${e.name}`;
        }
      }, {
        url: `${server.origin}/token`,
        body: { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: app.client_id },
      });
      // The request did reach the provider (a simple request); had it redeemed the code,
      // the exchange below would be invalid_grant.
      assert.equal(outcome, 'blocked: TypeError', 'the browser may not read the answer');
    });
  } finally {
    await session.context.close();
    site.close();
  }
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, `the code was not spent: ${t.text}`);
});

// Issue 17, branding: the logo (https, from the application's settings) above the login and
// consent pages, the policy and terms linked below, all under the pages' CSP. The logo's
// host does not exist here: Chromium is handed the image by the test (page.route).
test('a branded application shows its logo and links on the login and consent pages', { timeout: 120_000 }, async () => {
  await server.ready;
  const redirectUri = 'https://brand-rp.example/cb';
  const app = await createApp(server, {
    type: 'spa', name: 'Northwind Notes', first_party: false, redirect_uris: [redirectUri],
    logo_uri: 'https://cdn.northwind.example/logo.svg',
    policy_uri: 'https://northwind.example/privacy', tos_uri: 'https://northwind.example/terms',
  });
  const user = await createUser(server);
  const session = await newPage();
  const { page, context, problems } = session;
  await context.route('https://cdn.northwind.example/logo.svg', (route) => route.fulfill({
    contentType: 'image/svg+xml',
    body: '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="10" fill="#0b7a5c"/><text x="24" y="32" font-size="22" text-anchor="middle" fill="#fff" font-family="sans-serif">N</text></svg>',
  }));
  try {
    await diagnose('branding', session, async () => {
      const { challenge } = pkcePair();
      await page.goto(String(authorizeUrl(server, {
        response_type: 'code', client_id: app.client_id, redirect_uri: redirectUri, scope: 'openid email',
        state: 'b', code_challenge: challenge, code_challenge_method: 'S256',
      })));
      const logoShown = async () => {
        const logo = page.getByRole('img', { name: 'Northwind Notes' });
        await logo.waitFor({ state: 'visible' });
        assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo loaded under the CSP');
        assert.equal(await page.getByRole('link', { name: 'Northwind Notes privacy policy' }).getAttribute('href'), 'https://northwind.example/privacy');
        assert.equal(await page.getByRole('link', { name: 'Northwind Notes terms of service' }).getAttribute('href'), 'https://northwind.example/terms');
      };
      await logoShown();
      await page.locator('input[name="email"]').fill(user.email);
      await screenshot(page, 'login-branded.png');
      await page.locator('input[name="password"]').fill(user.password);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Allow' }).waitFor({ state: 'visible' });
      await logoShown();
      await screenshot(page, 'consent-branded.png');
      assert.deepEqual(problems, [], 'no uncaught errors or CSP violations');
    });
  } finally {
    await context.close();
  }
});
