// The example SPA (examples/spa/, oauth4webapi) on another origin than the provider, in
// headless Chromium: it logs in through the provider's login and consent pages, exchanges
// the code cross-origin and reads /userinfo cross-origin. Checks what it shows against the
// user created through the management API, and the CORS exchanges the browser made.
// Then the same with an application that does not allow the SPA's origin: the browser
// withholds the token response and the SPA shows an error instead of tokens.
//
// Chromium: as in browser.test.mjs (CHROMIUM_PATH, default /usr/bin/chromium); if it is
// missing this file FAILS, it does not skip. SCREENSHOT_DIR: where failure screenshots go.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { useServer } from '../harness/index.mjs';
import { createApp, createUser, managementApi } from './helpers.mjs';
import {
  launchChromium,
  loginWithExampleSpa,
  recordNetwork,
  runExampleSpaLogin,
  startExampleSpa,
  withDiagnostics,
} from './spa.mjs';

const STEP_TIMEOUT_MS = 30_000;

const server = useServer();

/** @type {Promise<import('playwright-core').Browser>} */
let browserPromise;
/** Two SPA servers, two origins: one that an application allows, one that none allows. */
let spaPromise;
let strangerPromise;

before(() => {
  // In parallel with wrangler's start-up; each test awaits these (and fails with their error).
  browserPromise = launchChromium();
  spaPromise = startExampleSpa();
  strangerPromise = startExampleSpa();
  for (const p of [browserPromise, spaPromise, strangerPromise]) p.catch(() => {});
});

after(async () => {
  const browser = await browserPromise?.catch(() => null);
  await browser?.close();
  for (const p of [spaPromise, strangerPromise]) {
    const s = await p?.catch(() => null);
    await s?.close();
  }
});

/** A fresh context and page, with the page's console, errors and network recorded. */
async function newSession() {
  const browser = await browserPromise;
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const log = [];
  const pageErrors = [];
  page.on('pageerror', (err) => {
    pageErrors.push(err.message);
    log.push(`pageerror ${err.message}`);
  });
  page.on('console', (msg) => log.push(`console.${msg.type()} ${msg.text()}`));
  page.on('requestfailed', (req) => log.push(`requestfailed ${req.method()} ${req.url()} ${req.failure()?.errorText}`));
  // Playwright's own view (no preflights); the CDP recorder below sees those too.
  const responses = [];
  page.on('response', (res) => {
    responses.push(res);
    log.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
  const network = await recordNetwork(page);
  return { context, page, log, pageErrors, responses, network };
}

/** withDiagnostics (spa.mjs) with this file's prefix and its network record. */
const diagnose = (name, session, fn) =>
  withDiagnostics(`spa-${name}`, session, fn, {
    server,
    more: () => `network (DevTools protocol, with preflights):\n  ${session.network.describe()}`,
  });

const isPath = (x, origin, path) => {
  const u = new URL(x.url);
  return u.origin === origin && u.pathname === path;
};

test('example SPA on another origin: logs in with oauth4webapi, CORS allows its origin', { timeout: 240_000 }, async () => {
  await server.ready;
  const spa = await spaPromise;
  assert.notEqual(spa.origin, server.origin, 'the SPA runs on another origin than the provider');
  const app = await createApp(server, {
    name: 'Example SPA',
    type: 'spa',
    redirect_uris: [`${spa.origin}/`],
    post_logout_redirect_uris: [`${spa.origin}/`],
    allowed_origins: [spa.origin],
  });
  const user = await createUser(server, { name: 'Grace Hopper' });

  const session = await newSession();
  const { page, context, network } = session;
  try {
    await diagnose('login', session, async () => {
      const out = await loginWithExampleSpa(page, {
        spaOrigin: spa.origin,
        issuer: server.origin,
        clientId: app.client_id,
        email: user.email,
        password: user.password,
      });

      // What the app shows.
      assert.equal(out.status, `Signed in as ${user.email}`, '#status');
      assert.equal(out.error, '', 'no error shown');
      assert.equal(new URL(page.url()).origin, spa.origin, 'back on the SPA');
      assert.equal(new URL(page.url()).search, '', `code/state/iss cleared from the address bar: ${page.url()}`);
      const { claims, userinfo } = out;
      assert.equal(claims.sub, user.id, 'ID token sub is the user id from POST /api/v1/users');
      assert.equal(claims.iss, server.origin, 'ID token iss is the provider');
      assert.ok(
        claims.aud === app.client_id || (Array.isArray(claims.aud) && claims.aud.includes(app.client_id)),
        `ID token aud contains the client id: ${JSON.stringify(claims.aud)}`,
      );
      assert.equal(typeof claims.nonce, 'string', 'ID token has the nonce (checked by oauth4webapi)');
      assert.equal(userinfo.sub, user.id, 'userinfo sub');
      assert.equal(userinfo.email, user.email, 'userinfo email');
      assert.equal(userinfo.name, 'Grace Hopper', 'userinfo name');
      assert.deepEqual(session.pageErrors, [], 'no uncaught errors in the page');

      // The authorization request the app sent.
      const authorize = network.exchanges.find((x) => x.type === 'Document' && isPath(x, server.origin, '/authorize'));
      assert.ok(authorize, 'the browser navigated to /authorize');
      const q = new URL(authorize.url).searchParams;
      assert.equal(q.get('client_id'), app.client_id);
      assert.equal(q.get('redirect_uri'), `${spa.origin}/`, 'redirect_uri is the SPA origin + "/"');
      assert.equal(q.get('response_type'), 'code');
      assert.equal(q.get('code_challenge_method'), 'S256');
      assert.ok(q.get('code_challenge') && q.get('state') && q.get('nonce'), `PKCE, state, nonce: ${authorize.url}`);
      // The provider's redirect back carried iss (RFC 9207), which the app checked.
      const callback = network.exchanges.find(
        (x) => x.type === 'Document' && new URL(x.url).origin === spa.origin && new URL(x.url).searchParams.has('code'),
      );
      assert.ok(callback, 'the provider redirected to the SPA with a code');
      assert.equal(new URL(callback.url).searchParams.get('iss'), server.origin, 'iss in the authorization response');

      // CORS: the actual responses to the SPA's origin carry its origin.
      const token = network.exchanges.find((x) => x.method === 'POST' && isPath(x, server.origin, '/token'));
      assert.ok(token, 'the SPA POSTed to /token');
      assert.equal(token.status, 200, 'POST /token status');
      assert.equal(token.headers['access-control-allow-origin'], spa.origin, 'POST /token: ACAO is the SPA origin');
      const info = network.exchanges.find((x) => x.method === 'GET' && isPath(x, server.origin, '/userinfo'));
      assert.ok(info, 'the SPA called /userinfo');
      assert.equal(info.status, 200, 'GET /userinfo status');
      assert.equal(info.headers['access-control-allow-origin'], spa.origin, 'GET /userinfo: ACAO is the SPA origin');

      // Preflights. oauth4webapi's token request (form body, Accept: application/json) is a
      // CORS "simple" request, so Chromium sends it without one; UserInfo carries an
      // Authorization header and always gets one. Every preflight must have been allowed.
      const preflights = [...network.preflights(server.origin, '/token'), ...network.preflights(server.origin, '/userinfo')];
      assert.ok(preflights.length >= 1, 'at least one CORS preflight to /token or /userinfo');
      assert.ok(
        network.preflights(server.origin, '/userinfo').length >= 1,
        'a preflight OPTIONS /userinfo (the Authorization header needs one)',
      );
      for (const p of preflights) {
        const where = `OPTIONS ${new URL(p.url).pathname}`;
        assert.ok(p.status >= 200 && p.status < 300, `${where} status ${p.status}`);
        assert.equal(p.headers['access-control-allow-origin'], spa.origin, `${where}: ACAO is the SPA origin`);
        assert.match(p.headers['access-control-allow-headers'] ?? '', /authorization/i, `${where}: allows Authorization`);
      }
      assert.deepEqual(
        network.exchanges.filter((x) => x.failure).map((x) => `${x.method} ${x.url}: ${x.failure}`),
        [],
        'no failed requests',
      );

      // Log out: RP-Initiated Logout at the provider, back to the SPA.
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL((u) => u.origin === spa.origin && u.search === '');
      await page.locator('#status', { hasText: 'Signed out.' }).waitFor();
      const logout = await network.find((x) => x.type === 'Document' && isPath(x, server.origin, '/logout'));
      assert.ok(logout, 'the browser went through the provider /logout');
      assert.equal(await page.locator('#claims').textContent(), '', 'claims gone after logout');
      assert.ok(await page.getByRole('button', { name: 'Log in' }).isVisible(), 'Log in is back');
    });
  } finally {
    await network.detach();
    await context.close();
  }
});

test('example SPA on an origin the application does not allow: the token response is withheld', { timeout: 240_000 }, async (t) => {
  await server.ready;
  const stranger = await strangerPromise;
  // The redirect URI is registered (so /authorize works), the origin is not allowed for CORS.
  const app = await createApp(server, {
    name: 'SPA without CORS',
    type: 'spa',
    redirect_uris: [`${stranger.origin}/`],
    allowed_origins: [],
  });
  assert.deepEqual(app.allowed_origins ?? [], [], `no allowed origins: ${JSON.stringify(app)}`);
  const user = await createUser(server);

  const session = await newSession();
  const { page, context, network } = session;
  try {
    await diagnose('cors-blocked', session, async () => {
      const out = await runExampleSpaLogin(page, {
        spaOrigin: stranger.origin,
        issuer: server.origin,
        clientId: app.client_id,
        email: user.email,
        password: user.password,
      });
      assert.equal(out.signedIn, false, `the SPA must not sign in: ${out.status}`);
      assert.doesNotMatch(out.status, /Signed in/, '#status');
      assert.match(out.error, /POST .*\/token failed in the browser/, `#error names the token request: ${out.error}`);
      assert.match(out.error, /CORS/, `#error points at CORS: ${out.error}`);
      assert.equal(await page.locator('#claims').textContent(), '', 'no claims shown');
      assert.equal(await page.locator('#userinfo').textContent(), '', 'no userinfo shown');
      assert.equal(await page.locator('#signed-in').isVisible(), false, 'the signed-in section stays hidden');

      // The token request reached the provider, whose answer had no ACAO for this origin, so
      // Chromium withheld it from the page (and the app never got as far as /userinfo).
      const token = network.exchanges.find((x) => x.method === 'POST' && isPath(x, server.origin, '/token'));
      assert.ok(token, 'the SPA tried POST /token');
      assert.equal(token.headers['access-control-allow-origin'], undefined, 'no ACAO on the token response');
      assert.match(token.failure ?? '', /cors|failed/i, `Chromium blocked the token response: ${token.failure}`);
      for (const p of network.preflights(server.origin)) {
        assert.equal(p.headers['access-control-allow-origin'], undefined, `preflight ${p.url}: no ACAO`);
      }
      assert.equal(
        network.exchanges.some((x) => x.method === 'GET' && isPath(x, server.origin, '/userinfo')),
        false,
        'no /userinfo request without tokens',
      );

      // Not asserted, reported: CORS only hides the answer from the page. The form-encoded
      // token request needs no preflight, so the provider received it; whether it redeemed
      // the code shows in the audit log (written just after the response).
      const api = managementApi(server);
      let issued = [];
      for (let i = 0; i < 20 && !issued.length; i++) {
        const r = await api('GET', `/logs?client_id=${encodeURIComponent(app.client_id)}&event=token.issued`);
        issued = r.json?.logs ?? [];
        if (!issued.length) await new Promise((r) => setTimeout(r, 100));
      }
      t.diagnostic(
        issued.length
          ? `the provider issued tokens for the request the browser blocked (audit: ${issued.length} token.issued); the code is spent`
          : 'the provider issued no tokens for the request the browser blocked',
      );
    });
  } finally {
    await network.detach();
    await context.close();
  }
});
