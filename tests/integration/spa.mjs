// Reusable pieces for browser tests that log in through the example SPA (examples/spa/), which
// runs on its own origin and talks to the provider cross-origin with oauth4webapi:
//
//   const spa = await startExampleSpa();                 // { origin, port, close() }
//   // an application of type spa with redirect_uris [`${spa.origin}/`] and
//   // allowed_origins [spa.origin] (management API or the dashboard)
//   const { claims, userinfo } = await loginWithExampleSpa(page, {
//     spaOrigin: spa.origin, issuer: server.origin, clientId, email, password,
//   });
//
// Also: launchChromium() (Debian's /usr/bin/chromium through playwright-core; throws when it
// is missing, so a test fails rather than skips), useChromium() (one browser for a test file
// and fresh sessions that collect uncaught errors and CSP violations), screenshot(page, name),
// openDemoLogin() (the provider's own demo SPA at /demo/ up to the login page),
// recordNetwork(page) (every request, CORS preflights included, which Playwright itself
// hides), runExampleSpaLogin() for tests that expect the login to fail, and for the
// provider's own pages onPage() (its heading; every field labelled), submitForm(), signIn(),
// followMail() (a mailed link clicked in the rendered mail) and alertText().

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

import { startSpaServer } from '../../examples/spa/serve.mjs';
import { REPO_ROOT, freePort } from '../harness/server.mjs';

export { startSpaServer };

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go: SCREENSHOT_DIR (relative to the repo), else a temp dir. */
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR
  ? resolve(REPO_ROOT, process.env.SCREENSHOT_DIR)
  : join(tmpdir(), 'edge-oidc-screenshots');

/**
 * Runs fn; on failure adds the page's URL, a screenshot (failed-<name>.png), the browser
 * log, `more()` (e.g. a network record) and the tail of the server's output to the error.
 */
export async function withDiagnostics(name, { page, log }, fn, { server, more } = {}) {
  try {
    await fn();
  } catch (err) {
    let shot = '';
    try {
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      const path = join(SCREENSHOT_DIR, `failed-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      shot = `\nscreenshot: ${path}`;
    } catch {
      /* page gone */
    }
    const extra =
      `\nurl: ${page.url()}${shot}\nbrowser log:\n  ${log.join('\n  ')}` +
      (more ? `\n${more()}` : '') +
      (server ? `\nserver output (tail):\n${server.output().slice(-3000)}` : '');
    err.message += extra;
    // The test reporter prints err.stack, which assert and Playwright errors have already
    // rendered with the old message: add the diagnostics there too.
    if (typeof err.stack === 'string' && !err.stack.includes(extra)) err.stack += `\n${extra}`;
    throw err;
  }
}

/** The example SPA's static server on a free port of 127.0.0.1. */
export async function startExampleSpa() {
  return startSpaServer({ port: await freePort(), host: '127.0.0.1' });
}

/** Headless Chromium as in browser.test.mjs. Throws (does not skip) when it is missing. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need it: run ` +
        '`bash scripts/install-chromium.sh` (apt-get install chromium), or set CHROMIUM_PATH.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: !process.env.BROWSER_HEADED,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Chromium for a test file: launched in before() (in parallel with the server's start-up; the
 * tests await it and fail with its error) and closed in after(). Returns newSession(): a fresh
 * context (no cookies, no storage) and page, as { context, page, problems, log }: `problems`
 * gathers uncaught exceptions and CSP violations, `log` everything (withDiagnostics prints it).
 */
export function useChromium({ viewport = { width: 1000, height: 760 }, stepTimeout = 30_000 } = {}) {
  /** @type {Promise<import('playwright-core').Browser>} */
  let browserPromise;
  before(() => {
    browserPromise = launchChromium();
    browserPromise.catch(() => {}); // reported by each test that awaits it
  });
  after(async () => {
    const browser = await browserPromise?.catch(() => null);
    await browser?.close();
  });
  return async function newSession() {
    const browser = await browserPromise;
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(stepTimeout);
    context.setDefaultNavigationTimeout(stepTimeout);
    const page = await context.newPage();
    const problems = [];
    const log = [];
    page.on('pageerror', (err) => {
      problems.push(`uncaught: ${err.message}`);
      log.push(`pageerror ${err.message}`);
    });
    page.on('console', (msg) => {
      log.push(`console.${msg.type()} ${msg.text()}`);
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on('requestfailed', (req) => log.push(`requestfailed ${req.method()} ${req.url()} ${req.failure()?.errorText}`));
    page.on('response', (res) => log.push(`${res.status()} ${res.request().method()} ${res.url()}`));
    return { context, page, problems, log };
  };
}

/** A full-page screenshot `name` (e.g. login.png) in SCREENSHOT_DIR. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), fullPage: true });
}

/**
 * Waits for the provider page headed `heading` (its h1) and checks that every field a person
 * sees on it has a label (so getByLabel reaches it; hidden ones, such as the username kept for
 * password managers, need none). Returns the text of its <main>.
 */
export async function onPage(page, heading) {
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor({ state: 'visible' });
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input:not([type="hidden"]):not([hidden]), select, textarea')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, [], `every field of "${heading}" has a label`);
  return page.locator('main').innerText();
}

/**
 * Clicks `control` (a form's button) and waits for the page the POST to `path` answers with
 * (at the end of its redirects); returns the POST's response. Every provider page must forbid
 * framing in its CSP (a redirect shows nothing: the page it leads to, if the provider's).
 */
export async function submitForm(page, path, control) {
  const [res] = await Promise.all([
    page.waitForResponse((r) =>
      r.request().isNavigationRequest() && r.request().method() === 'POST' && new URL(r.url()).pathname === path),
    control.click(),
  ]);
  await page.waitForLoadState('load');
  let shown = res.request();
  while (shown.redirectedTo()) shown = shown.redirectedTo();
  const last = await shown.response();
  if (last && new URL(last.url()).origin === new URL(res.url()).origin) {
    const what = last === res ? `POST ${path}` : `GET ${new URL(last.url()).pathname} after POST ${path}`;
    assert.match(last.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/, `CSP of ${what}`);
  }
  return res;
}

/** Signs in on the provider's login page by its labels; returns the POST /login response. */
export async function signIn(page, email, password) {
  await onPage(page, 'Sign in');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  return submitForm(page, '/login', page.getByRole('button', { name: 'Continue' }));
}

/**
 * Shows a mail (readMail in helpers.mjs) in the tab as a web mail would (the tab keeps its
 * sessionStorage), checks that its button `button` is the mailed link to `path`, optionally
 * screenshots it (`shot`), and clicks the button. Returns the link.
 */
export async function followMail(page, mail, { button, path, shot }) {
  await page.goto('about:blank');
  await page.setContent(mail.html);
  assert.equal(await page.title(), mail.subject, 'the HTML part is titled with the subject');
  const link = mail.link(path);
  const action = page.getByRole('link', { name: button, exact: true });
  assert.equal(new URL(await action.getAttribute('href')).href, link.href, 'the button is the link of the text part');
  if (shot) await screenshot(page, shot);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && new URL(r.url()).pathname === path),
    action.click(),
  ]);
  assert.equal(res.status(), 200, `GET ${path}`);
  assert.match(res.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/, `CSP of GET ${path}`);
  return link;
}

/** The page's error message (role=alert). */
export const alertText = (page) => page.getByRole('alert').innerText();

/**
 * Opens the provider's demo SPA (`${origin}/demo/`, a redirect URI of the application) with
 * ?client_id=, presses "Log in" and waits for the provider's page; returns the /authorize
 * navigation response.
 */
export async function openDemoLogin(page, origin, clientId, timeout = 30_000) {
  await page.goto(`${origin}/demo/?client_id=${encodeURIComponent(clientId)}`);
  // The app moves client_id from the address bar into the input.
  await waitFor(async () => (await page.inputValue('#client-id')) === clientId, 'client id in the input', timeout);
  const [authorize] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().isNavigationRequest() && new URL(r.url()).pathname === '/authorize',
    ),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  await page.waitForLoadState('load');
  return authorize;
}

/**
 * Records the page's network exchanges through the DevTools protocol, because Playwright's
 * page.on('request'/'response') never shows CORS preflights. Resolves with an object whose
 * `exchanges` array fills in as the page runs: { type ('Preflight', 'Fetch', 'Document', ...),
 * method, url, status, headers (lower-case names), failure }.
 */
export async function recordNetwork(page) {
  const cdp = await page.context().newCDPSession(page);
  const byId = new Map();
  const exchanges = [];
  cdp.on('Network.requestWillBeSent', (e) => {
    const prev = byId.get(e.requestId);
    if (prev && e.redirectResponse) {
      // A redirect reuses the request id: the earlier hop keeps its own entry and status.
      prev.status = e.redirectResponse.status;
      prev.headers = lowerKeys(e.redirectResponse.headers);
    }
    const x = { id: e.requestId, type: e.type, method: e.request.method, url: e.request.url, status: undefined, headers: {}, failure: undefined };
    byId.set(e.requestId, x);
    exchanges.push(x);
  });
  cdp.on('Network.responseReceived', (e) => {
    const x = byId.get(e.requestId);
    if (!x) return;
    x.type = e.type ?? x.type;
    x.status = e.response.status;
    x.headers = lowerKeys(e.response.headers);
  });
  cdp.on('Network.loadingFailed', (e) => {
    const x = byId.get(e.requestId);
    if (!x) return;
    x.failure = [e.errorText, e.corsErrorStatus?.corsError, e.blockedReason].filter(Boolean).join(' ');
  });
  await cdp.send('Network.enable');
  return {
    exchanges,
    /** Preflights (OPTIONS with the Preflight type) to a path of the given origin. */
    preflights(origin, path) {
      return exchanges.filter((x) => {
        if (x.method !== 'OPTIONS') return false;
        const u = new URL(x.url);
        return u.origin === origin && (path === undefined || u.pathname === path);
      });
    },
    describe() {
      return exchanges
        .map((x) => `${x.status ?? '---'} ${x.method} ${x.url} [${x.type}]` +
          `${x.headers['access-control-allow-origin'] ? ` ACAO=${x.headers['access-control-allow-origin']}` : ''}` +
          `${x.failure ? ` FAILED ${x.failure}` : ''}`)
        .join('\n  ');
    },
    /**
     * The first exchange that satisfies `pred`, waiting up to `ms` for it: CDP events arrive
     * on their own channel, so the page can be on its next step before the recorder hears.
     */
    async find(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const x = exchanges.find(pred);
        if (x || Date.now() > deadline) return x;
        await sleep(100);
      }
    },
    detach: () => cdp.detach().catch(() => {}),
  };
}

function lowerKeys(headers) {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs fn on the page; a navigation in between ("context destroyed") counts as undefined. */
async function safely(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err.name === 'TimeoutError' || /context was destroyed|navigat|frame was detached/i.test(err.message)) {
      return undefined;
    }
    throw err;
  }
}

async function bodyText(page) {
  return (await safely(() => page.locator('body').innerText({ timeout: 2000 }))) ?? '';
}

/**
 * Drives a login through the example SPA: opens it with ?issuer=&client_id=, presses
 * "Log in", signs in on the provider's login page (if it shows one), answers the consent
 * page (if any; loopback redirect URIs always get one) and waits until the SPA shows either
 * "Signed in as ..." or an error. Does not throw for a failed login; throws only when the
 * flow gets stuck somewhere else (with the page's URL and text).
 *
 * Returns { signedIn, status, error, claims, userinfo, url, steps }.
 */
export async function runExampleSpaLogin(
  page,
  { spaOrigin, issuer, clientId, email, password, consent = 'allow', timeout = 60_000 },
) {
  const steps = [];
  const spa = new URL(spaOrigin).origin;
  const provider = new URL(issuer).origin;
  const start = new URL('/', spa);
  start.searchParams.set('issuer', issuer);
  start.searchParams.set('client_id', clientId);
  await page.goto(start.href);
  steps.push(`opened ${start.href}`);

  // The app moves the query into the inputs (and sessionStorage) and clears the address bar.
  const issuerInput = page.getByLabel('Issuer', { exact: true });
  const clientInput = page.getByLabel('Client ID', { exact: true });
  await waitFor(async () => (await issuerInput.inputValue()) === issuer, 'the Issuer input to hold the issuer', timeout);
  assert.equal(await clientInput.inputValue(), clientId, 'the Client ID input holds the client id');
  await page.getByRole('button', { name: 'Log in' }).click();
  steps.push('clicked Log in');

  let submittedLogin = false;
  let answeredConsent = false;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (Date.now() > deadline) {
      throw new Error(
        `example SPA login did not finish within ${timeout} ms; steps: ${steps.join(' -> ')}\n` +
          `url: ${page.url()}\npage text:\n${(await bodyText(page)).slice(0, 1500)}`,
      );
    }
    const url = new URL(page.url());
    if (url.origin === spa) {
      // One look at the current document, without waiting: it may be navigating away.
      const state = await safely(() =>
        page.evaluate(() => {
          const status = document.getElementById('status');
          const error = document.getElementById('error');
          if (!status || !error) return null;
          return { status: status.textContent.trim(), error: error.textContent.trim() };
        }),
      );
      if (state?.error) {
        steps.push(`SPA error: ${state.error}`);
        return { signedIn: false, ...state, claims: undefined, userinfo: undefined, url: page.url(), steps };
      }
      if (state && /^Signed in as /.test(state.status)) {
        const claims = JSON.parse(await page.locator('#claims').textContent());
        const userinfo = JSON.parse(await page.locator('#userinfo').textContent());
        steps.push(state.status);
        return { signedIn: true, ...state, claims, userinfo, url: page.url(), steps };
      }
    } else if (url.origin === provider) {
      const emailInput = page.locator('input[name="email"]');
      const allow = page.getByRole('button', { name: consent === 'deny' ? 'Deny' : 'Allow' });
      if (await safely(() => emailInput.isVisible())) {
        if (submittedLogin) {
          // The form came back after a submission: wrong credentials or similar.
          throw new Error(
            `the provider showed its login form again after signing in as ${email}; page text:\n` +
              (await bodyText(page)).slice(0, 1500),
          );
        }
        await emailInput.fill(email);
        await page.locator('input[name="password"]').fill(password);
        await page.getByRole('button', { name: 'Continue' }).click();
        submittedLogin = true;
        steps.push(`submitted the login form at ${url.pathname}`);
        await safely(() => page.waitForLoadState('load'));
        continue;
      }
      if (!answeredConsent && (await safely(() => allow.isVisible()))) {
        await allow.click();
        answeredConsent = true;
        steps.push(`${consent === 'deny' ? 'denied' : 'allowed'} consent at ${url.pathname}`);
        await safely(() => page.waitForLoadState('load'));
        continue;
      }
    }
    await sleep(100);
  }
}

/**
 * Logs in through the example SPA (see runExampleSpaLogin) and insists that it worked:
 * throws with the SPA's error otherwise. Returns { status, claims, userinfo }.
 */
export async function loginWithExampleSpa(page, options) {
  const out = await runExampleSpaLogin(page, options);
  if (!out.signedIn) {
    throw new Error(
      `the example SPA did not sign in: ${out.error || out.status}\nsteps: ${out.steps.join(' -> ')}`,
    );
  }
  return out;
}

async function waitFor(check, what, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await safely(check)) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
