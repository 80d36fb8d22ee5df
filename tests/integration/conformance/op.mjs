// The OpenID Foundation's conformance suite, module by module, as a relying party would run it
// against this provider (issue 16). One file per module, named after it; each checks what the
// module's conditions check (the suite's sources: src/main/java/net/openid/conformance/openid/
// and .../condition/client/), in every plan that runs the module:
//
//   import { conformanceModule } from './op.mjs';
//   conformanceModule('oidcc-server', ['basic', 'formpost', 'dynamic'], async (op) => {
//     const rp = await op.client();                 // the plan's "client": static or registered
//     const cb = await op.authorize(rp);            // Chromium, through the real login page
//     const { claims } = await op.exchange(rp, cb); // openid-client, ID token checked vs JWKS
//   });
//
// What stands where the suite does:
// - The suite's browser is headless Chromium (playwright-core). The suite's callback and
//   post-logout URLs (SUITE below) never reach a network: the browser records the request
//   to them, a GET with a query or, for response_mode=form_post, a POST.
// - The relying party is openid-client (token, userinfo, registration, logout URLs); jose
//   verifies every ID token against the provider's JWKS, as ValidateIdTokenSignature does.
// - The plan's configuration (client, client2, client_secret_post) is made as
//   docs/conformance.md tells an operator to: confidential first-party applications through
//   the management API, or, in the Dynamic plan, registration.
// - Pages the suite asks a human to review (an error page, a login page) are screenshots in
//   SCREENSHOT_DIR/conformance/<module>-<plan>-<label>.png, and asserted on here.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { calculateJwkThumbprint, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

import { useServer } from '../../harness/index.mjs';
import { createUser, halfHash, managementApi, randomToken, readAnswer } from '../helpers.mjs';
import { SCREENSHOT_DIR, launchChromium } from '../spa.mjs';

/** Where the suite's alias lives; its callback and post-logout URLs are under it. */
export const SUITE = 'https://suite.conformance.test/test/a/edge-oidc';
export const CALLBACK = `${SUITE}/callback`;
export const POST_LOGOUT = `${SUITE}/post_logout_redirect`;

/**
 * The plans, with the variant this provider is run under (docs/conformance.md, "Variants used").
 * responseMode: what the plan sends as response_mode; registration: how its clients come to be.
 */
export const PLANS = {
  basic: { plan: 'oidcc-basic-certification-test-plan', registration: 'static' },
  formpost: { plan: 'oidcc-formpost-basic-certification-test-plan', registration: 'static', responseMode: 'form_post' },
  config: { plan: 'oidcc-config-certification-test-plan', registration: 'static' },
  // The Dynamic plan's variant for nearly all its modules: client_auth_type=private_key_jwt.
  dynamic: { plan: 'oidcc-dynamic-certification-test-plan', registration: 'dynamic', clientAuth: 'private_key_jwt' },
  logout: { plan: 'oidcc-rp-initiated-logout-certification-test-plan', registration: 'static' },
  backchannel: { plan: 'oidcc-backchannel-rp-initiated-logout-certification-test-plan', registration: 'static' },
};

/** Every conformance file runs on one server configuration: registration on, as the Dynamic plan needs. */
export const SERVER_VARS = { REGISTRATION_ENABLED: 'true' };

/**
 * Declares a module: one test per plan that runs it, each with a fresh Op (new browser
 * context, user and clients), as the suite starts each module afresh. Options: timeout;
 * todo, { [plan]: why } for runs of a module that is not built yet.
 */
export function conformanceModule(name, plans, body, { timeout = 120_000, todo = {} } = {}) {
  const server = useServer({ vars: SERVER_VARS });
  let browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  for (const key of plans) {
    assert.ok(PLANS[key], `unknown plan ${key}`);
    // todo: { plan: 'why' } marks a run the product does not pass yet (node:test reports it,
    // failing or not, without failing the run); docs/conformance.md says the same.
    test(`${name} (${PLANS[key].plan})`, { timeout, todo: todo[key] }, async (t) => {
      await server.ready;
      const op = await Op.create(server, browser, key, name);
      try {
        await body(op, t);
      } catch (err) {
        await op.screenshot('failed').catch(() => {});
        throw err;
      } finally {
        await op.close();
      }
    });
  }
  return server;
}

/** The provider under test, the suite's browser and its relying party, for one module run. */
export class Op {
  static async create(server, browser, planKey, module) {
    const op = new Op(server, planKey, module);
    const res = await fetch(`${server.origin}/.well-known/openid-configuration`);
    assert.equal(res.status, 200, 'discovery');
    op.metadata = await res.json();
    await op.checkServerKeys();
    op.user = await createUser(server, { name: 'Conformance User' });
    op.context = await browser.newContext();
    op.page = await op.context.newPage();
    // Requests to the suite are recorded from the request event, since a route handler does
    // not see the target of a redirect (the usual way back); the route answers the rest (a
    // form_post POST), and a redirected GET ends on Chromium's own error page, unanswered.
    op.context.on('request', (req) => {
      if (req.url().startsWith(SUITE)) op.captures.push({ url: new URL(req.url()), method: req.method(), body: req.postData() ?? '' });
    });
    await op.context.route((url) => url.href.startsWith(SUITE), (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>suite</title><p>suite callback</p>' }));
    return op;
  }

  constructor(server, planKey, module) {
    this.server = server;
    this.issuer = server.origin;
    this.planKey = planKey;
    this.plan = PLANS[planKey];
    this.module = module;
    this.api = managementApi(server);
    this.clients = new Map();
    this.captures = [];
  }

  async close() {
    await this.context?.close();
  }

  /**
   * What every module checks at configure time: CheckForKeyIdInServerJWKs and
   * CheckDistinctKeyIdValueInServerJWKs (FAILURE). Returns the JWKS.
   */
  async checkServerKeys() {
    const res = await fetch(this.metadata.jwks_uri);
    assert.equal(res.status, 200, 'FetchServerKeys');
    const { keys } = await res.json();
    assert.ok(Array.isArray(keys) && keys.length > 0, 'keys');
    for (const k of keys) assert.ok(k.kid, `CheckForKeyIdInServerJWKs: ${JSON.stringify(k)}`);
    assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'CheckDistinctKeyIdValueInServerJWKs');
    return keys;
  }

  /** A fresh JWKS reader: jose caches keys, and a module that rotates keys needs new ones. */
  jwks() {
    return createRemoteJWKSet(new URL(this.metadata.jwks_uri));
  }

  // ---- clients -------------------------------------------------------------------------

  /** The plan's `client` (memoized): static (client_secret_basic) or registered. */
  client(extra = {}) {
    return this.#memo('client', () => this.#planClient('client_secret_basic', extra));
  }

  /** The plan's `client2`, for modules that need a second client (oidcc-refresh-token). */
  client2(extra = {}) {
    return this.#memo('client2', () => this.#planClient('client_secret_basic', extra));
  }

  /** The `client_secret_post` client of the Basic plan's configuration. */
  clientSecretPost(extra = {}) {
    return this.#memo('client_secret_post', () => this.#planClient('client_secret_post', extra));
  }

  #memo(key, make) {
    if (!this.clients.has(key)) this.clients.set(key, make());
    return this.clients.get(key);
  }

  #planClient(method, extra) {
    return this.plan.registration === 'dynamic'
      ? this.registerClient({ token_endpoint_auth_method: this.plan.clientAuth ?? method, ...extra })
      : this.staticClient({ token_endpoint_auth_method: method, ...extra });
  }

  /**
   * A client key pair as the suite generates one for private_key_jwt: RS256, with a kid, random
   * or, with `thumbprint`, the key's JWK thumbprint (GenerateRS256ClientJWKsWithKeyID).
   * { privateKey, jwk (public), jwks, kid }.
   */
  static async clientKey({ thumbprint = false } = {}) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = thumbprint ? await calculateJwkThumbprint(pub) : `rp-${randomToken(6)}`;
    const jwk = { ...pub, kid, alg: 'RS256', use: 'sig' };
    return { privateKey, jwk, jwks: { keys: [jwk] }, kid };
  }

  /**
   * A confidential first-party application made through the management API, as
   * docs/conformance.md ("Running the real suite") has an operator make the plan's clients.
   */
  async staticClient(fields = {}) {
    const r = await this.api('POST', '/applications', {
      name: `OIDF conformance ${randomToken(4)}`,
      type: 'traditional',
      first_party: true,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [CALLBACK],
      post_logout_redirect_uris: [POST_LOGOUT],
      ...fields,
    });
    assert.equal(r.status, 201, `create the static client: ${r.status} ${r.text}`);
    return this.relyingParty(r.json);
  }

  /** POST /register as the suite's dynamic modules do; the raw answer { status, json }. */
  async register(body) {
    const res = await fetch(this.metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return readAnswer(res);
  }

  /**
   * A client registered as the Dynamic plan registers its clients (201 expected). For
   * private_key_jwt without `jwks`/`jwks_uri`, a fresh key's public JWKS is registered and
   * the relying party signs its assertions with the private key (rp.key).
   */
  async registerClient(metadata = {}) {
    assert.ok(this.metadata.registration_endpoint, 'registration_endpoint in discovery');
    let key = metadata.key;
    delete metadata.key;
    if (metadata.token_endpoint_auth_method === 'private_key_jwt' && !metadata.jwks && !metadata.jwks_uri) {
      key ??= await Op.clientKey();
      metadata = { ...metadata, jwks: key.jwks };
    }
    const r = await this.register({
      client_name: `OIDF conformance ${randomToken(4)}`,
      redirect_uris: [CALLBACK],
      post_logout_redirect_uris: [POST_LOGOUT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...metadata,
    });
    assert.equal(r.status, 201, `registration: ${r.status} ${r.text}`);
    const rp = this.relyingParty(r.json, key ? oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }) : undefined);
    rp.key = key;
    return rp;
  }

  /**
   * openid-client's Configuration for a client answer (management API or registration):
   * { id, secret, app, config, idTokenAlg }. clientAuth overrides the secret-based methods.
   */
  relyingParty(app, clientAuth) {
    const method = app.token_endpoint_auth_method ?? 'client_secret_basic';
    const auth =
      clientAuth ??
      (method === 'client_secret_post'
        ? oidc.ClientSecretPost(app.client_secret)
        : method === 'none'
          ? oidc.None()
          : oidc.ClientSecretBasic(app.client_secret));
    const config = new oidc.Configuration(this.metadata, app.client_id, {}, auth);
    oidc.allowInsecureRequests(config);
    return {
      id: app.client_id,
      secret: app.client_secret,
      app,
      config,
      idTokenAlg: app.id_token_signed_response_alg ?? 'RS256',
    };
  }

  // ---- the browser ---------------------------------------------------------------------

  /** The suite's "clear cookies" step (before prompt=none-not-logged-in and friends). */
  async clearCookies() {
    await this.context.clearCookies();
  }

  /**
   * An authorization request URL built by openid-client, with what the plan adds
   * (response_mode) and the checks its callback is held to. Parameters set to undefined
   * are left out; `nonce: undefined` sends none.
   */
  authorizationRequest(rp, params = {}) {
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const all = {
      response_type: 'code',
      scope: 'openid',
      redirect_uri: CALLBACK,
      state,
      nonce,
      ...(this.plan.responseMode ? { response_mode: this.plan.responseMode } : {}),
      ...params,
    };
    for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
    const url = oidc.buildAuthorizationUrl(rp.config, all);
    return {
      url,
      params: all,
      checks: { expectedState: all.state ?? oidc.skipStateCheck, expectedNonce: all.nonce, idTokenExpected: true },
    };
  }

  /**
   * Opens `url` in the browser and goes on as the suite's browser does: signs in on the login
   * page (unless login is false), allows a consent page, lets a form_post page submit itself.
   * Returns { callback } when the suite's URL was reached, or { page } when the browser stopped
   * on one of the provider's pages: { status, url, html, form } (form: the first form's action).
   */
  async browse(url, opts = {}) {
    await this.leave();
    const before = this.captures.length;
    let response;
    try {
      response = await this.page.goto(String(url), { waitUntil: 'load' });
    } catch (err) {
      if (this.captures.length === before) throw err;
    }
    return this.settle({ ...opts, before, response });
  }

  /**
   * Leaves the page the browser stopped on. After a redirect to the suite's URL, that is
   * Chromium's own error page (the name does not resolve), which reloads itself about a
   * second later; the reload, recorded as a request to the suite, would be taken for the
   * answer to whatever the test opens next.
   */
  async leave() {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.page.goto('about:blank');
        return;
      } catch (err) {
        // Still on its way to that error page: "interrupted by another navigation".
        if (attempt >= 3) throw err;
        await this.page.waitForLoadState('load').catch(() => {});
      }
    }
  }

  /** What browse() does once the page is open (also after a test fills in a form itself). */
  async settle({ login = true, consent = 'allow', confirmLogout = false, before = this.captures.length, response, user = this.user } = {}) {
    for (let step = 0; step < 8; step++) {
      if (this.captures.length > before) return { callback: this.#callback(this.captures.at(-1)) };
      const form = await this.#formAction();
      if (form === '/login' && login) {
        await this.page.fill('input[name="email"]', user.email);
        await this.page.fill('input[name="password"]', user.password);
        response = await this.#submit('form[action="/login"] button[type="submit"]');
        continue;
      }
      if (form === '/consent' && consent) {
        response = await this.#submit(`form[action="/consent"] button[value="${consent}"]`);
        continue;
      }
      if (form === '/logout' && confirmLogout) {
        response = await this.#submit('form[action="/logout"] button[value="yes"]');
        continue;
      }
      if (form && form.startsWith(SUITE)) {
        // The form_post page submits itself (public/shared/form-post.js).
        await this.page.waitForURL((u) => u.href.startsWith(SUITE), { timeout: 10_000 }).catch(() => {});
        continue;
      }
      if (form === undefined) {
        // The page is navigating (a self-submitting form): look again.
        await this.page.waitForLoadState('load').catch(() => {});
        continue;
      }
      break;
    }
    if (this.captures.length > before) return { callback: this.#callback(this.captures.at(-1)) };
    return {
      page: {
        status: response?.status(),
        url: new URL(this.page.url()),
        html: await this.page.content(),
        form: await this.#formAction(),
      },
    };
  }

  async #submit(selector) {
    const [response] = await Promise.all([
      this.page.waitForNavigation({ waitUntil: 'load' }).catch(() => null),
      this.page.click(selector),
    ]);
    return response;
  }

  /** The first form's action ('' when the page has none; undefined while navigating). */
  async #formAction() {
    try {
      return await this.page.evaluate(() => document.querySelector('form')?.getAttribute('action') ?? '');
    } catch {
      return undefined;
    }
  }

  #callback(c) {
    const params = c.method === 'POST' ? new URLSearchParams(c.body) : new URLSearchParams(c.url.search);
    const request =
      c.method === 'POST'
        ? new Request(c.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: c.body })
        : c.url;
    return { ...c, params, request };
  }

  /**
   * The authorization request through the browser to a successful callback, checked as the
   * suite's authorization-response conditions check it. Returns the callback with its
   * `checks` (for exchange) and `sent` (the request's parameters).
   */
  async authorize(rp, params = {}, opts = {}) {
    const req = this.authorizationRequest(rp, params);
    return this.authorizeAt(req.url, req, opts);
  }

  /**
   * authorize() for a URL the module builds itself (a request object's query, reordered
   * parameters) from the authorizationRequest `req`, whose state, nonce and checks it keeps.
   */
  async authorizeAt(url, req, opts = {}) {
    return this.#authorized(await this.browse(url, opts), req, url);
  }

  /**
   * An authorization request that must stop on the login page although the user is signed in
   * (ExpectSecondLoginPage: a screenshot, `label`), then the login, to a successful callback as
   * authorize() returns it (max_age, prompt=login).
   */
  async authorizeThroughLogin(rp, params, label) {
    const req = this.authorizationRequest(rp, params);
    const out = await this.browse(req.url, { login: false });
    assert.ok(out.page, `ExpectSecondLoginPage: the server went back to the client without a login: ${out.callback?.url} ${out.callback?.body ?? ''}`);
    assert.equal(out.page.form, '/login', `ExpectSecondLoginPage: a login page, not ${out.page.url}: ${text(out.page.html)}`);
    await this.screenshot(label);
    return this.#authorized(await this.settle(), req, req.url, ' after the login');
  }

  #authorized(out, req, url, when = '') {
    assert.ok(out.callback, `the browser should reach the callback${when}, but stopped at ${out.page?.url}: ${text(out.page?.html)}`);
    const cb = { ...out.callback, checks: req.checks, sent: req.params, url0: new URL(url) };
    this.checkAuthorizationResponse(cb);
    assert.equal(cb.params.get('error'), null, `CheckIfAuthorizationEndpointError: ${cb.params}`);
    assert.ok(cb.params.get('code'), `a code in ${cb.params}`);
    return cb;
  }

  /**
   * The conditions every authorization response meets: delivered as response_mode says
   * (RejectAuthCodeInUrlQuery / RejectErrorInUrlQuery for form_post), at the redirect URI
   * sent (CheckMatchingCallbackParameters), with the state sent (CheckMatchingStateParameter)
   * and, when present, the issuer (ValidateIssIfPresentInAuthorizationResponse, RFC 9207).
   */
  checkAuthorizationResponse(cb, sent = cb.sent) {
    const redirect = new URL(sent.redirect_uri ?? CALLBACK);
    assert.equal(cb.url.origin + cb.url.pathname, redirect.origin + redirect.pathname, 'back at the redirect URI');
    for (const [k, v] of redirect.searchParams) assert.equal(cb.url.searchParams.get(k), v, `the redirect URI's own ${k}`);
    if (sent.response_mode === 'form_post') {
      assert.equal(cb.method, 'POST', 'form_post answers with a POST');
      for (const k of ['code', 'error', 'state']) assert.equal(cb.url.searchParams.get(k), null, `no ${k} in the query under form_post`);
    } else {
      assert.equal(cb.method, 'GET', 'the query response mode answers with a GET');
    }
    if (sent.state !== undefined) assert.equal(cb.params.get('state'), sent.state, 'state');
    else assert.equal(cb.params.get('state'), null, 'no state when none was sent');
    if (cb.params.has('iss')) assert.equal(cb.params.get('iss'), this.issuer, 'iss');
  }

  /**
   * An authorization request the provider must refuse by redirecting an error back
   * (CheckIfAuthorizationEndpointError, then the module's error condition). Returns the
   * callback; the caller checks which error.
   */
  async authorizeError(rp, params = {}, opts = {}) {
    const req = this.authorizationRequest(rp, params);
    const out = await this.browse(req.url, opts);
    assert.ok(out.callback, `an error should come back to the client, but the browser stopped at ${out.page?.url}: ${text(out.page?.html)}`);
    const cb = { ...out.callback, checks: req.checks, sent: req.params };
    this.checkAuthorizationResponse(cb);
    assert.ok(cb.params.get('error'), `an error in ${cb.params}`);
    assert.equal(cb.params.get('code'), null, 'no code beside an error');
    return cb;
  }

  /**
   * An authorization request that must stop on the provider's own page (an error page the
   * suite has the tester screenshot), never at the client. Returns the page.
   */
  async authorizePage(rp, params = {}, label = 'page', opts = {}) {
    const req = this.authorizationRequest(rp, params);
    const out = await this.browse(req.url, { login: false, ...opts });
    assert.ok(out.page, `the browser must not go back to the client: ${out.callback?.url}${out.callback?.body ? ` ${out.callback.body}` : ''}`);
    await this.screenshot(label);
    return out.page;
  }

  /**
   * The login page of a fresh session, as the registration modules ask for it (cookies cleared,
   * then an authorization request that must stop there; the screenshot `label`). Returns the page.
   */
  async loginPage(rp, label = 'login-page') {
    await this.clearCookies();
    const page = await this.authorizePage(rp, {}, label);
    assert.equal(page.form, '/login', 'the login page');
    return page;
  }

  /** Saves a screenshot of the current page for the tester's review (the suite's upload). */
  async screenshot(label) {
    const dir = join(SCREENSHOT_DIR, 'conformance');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${this.module}-${this.planKey}-${label}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  // ---- the token endpoint, ID tokens, userinfo -----------------------------------------

  /**
   * The code exchange by openid-client (state, iss, nonce and the ID token's claims checked
   * there), then the suite's own checks: the code's length and entropy
   * (EnsureMinimumAuthorizationCodeLength, ...Entropy), the token response
   * (CheckIfTokenEndpointResponseError, ExtractExpiresInFromTokenEndpointResponse) and the
   * ID token (checkIdToken). Returns { tokens, claims, header }.
   */
  async exchange(rp, cb, { checks = cb.checks, params } = {}) {
    checkCode(cb.params.get('code'));
    const tokens = await oidc.authorizationCodeGrant(rp.config, cb.request, checks, params);
    assert.equal(typeof tokens.access_token, 'string', 'access_token');
    assert.equal(tokens.token_type.toLowerCase(), 'bearer', 'token_type');
    assert.ok(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0, 'expires_in');
    assert.equal(typeof tokens.id_token, 'string', 'id_token');
    const { claims, header } = await this.checkIdToken(rp, tokens.id_token, {
      nonce: checks.expectedNonce,
      accessToken: tokens.access_token,
    });
    return { tokens, claims, header };
  }

  /** The rest of the flow after the callback: exchange(), then userinfo. { tokens, claims, header, info }. */
  async complete(rp, cb, opts) {
    const out = await this.exchange(rp, cb, opts);
    return { ...out, info: await this.userinfo(rp, out.tokens.access_token, out.claims.sub) };
  }

  /** The whole code flow of AbstractOIDCCServerTest: authorize(), then complete(). */
  async codeFlow(rp, params, opts) {
    return this.complete(rp, await this.authorize(rp, params, opts));
  }

  /**
   * The suite's ID token conditions: ValidateIdTokenSignature against the JWKS,
   * EnsureIdTokenContainsKid, the client's algorithm (CheckIdTokenSignatureAlgorithm),
   * ValidateIdToken (iss, aud, azp, exp, iat, sub, auth_time), ValidateIdTokenNonce, and
   * ValidateAtHash when at_hash is there.
   */
  async checkIdToken(rp, idToken, { nonce, accessToken } = {}) {
    const { payload: claims, protectedHeader: header } = await jwtVerify(idToken, this.jwks(), {
      issuer: this.issuer,
      audience: rp.id,
      algorithms: [rp.idTokenAlg],
      clockTolerance: 300,
    });
    assert.ok(header.kid, 'EnsureIdTokenContainsKid');
    assert.equal(header.alg, rp.idTokenAlg, 'the client\'s ID token algorithm');
    assert.equal(typeof claims.sub, 'string');
    assert.ok(claims.sub.length > 0 && claims.sub.length <= 255, 'sub is 1..255 characters');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Number.isInteger(claims.exp) && claims.exp > now, 'exp in the future');
    assert.ok(Number.isInteger(claims.iat) && Math.abs(claims.iat - now) < 300, 'iat is now');
    if (Array.isArray(claims.aud) && claims.aud.length > 1) assert.equal(claims.azp, rp.id, 'azp with several audiences');
    if (claims.auth_time !== undefined) assert.ok(Number.isInteger(claims.auth_time) && claims.auth_time <= now + 5, 'auth_time');
    if (nonce !== undefined) assert.equal(claims.nonce, nonce, 'ValidateIdTokenNonce');
    else assert.equal(claims.nonce, undefined, 'no nonce when none was sent');
    if (claims.at_hash !== undefined && accessToken) assert.equal(claims.at_hash, halfHash(accessToken), 'ValidateAtHash');
    return { claims, header };
  }

  /** GET userinfo with a Bearer header (openid-client), sub checked against the ID token's. */
  userinfo(rp, accessToken, sub) {
    return oidc.fetchUserInfo(rp.config, accessToken, sub);
  }

  /** A refresh by openid-client. */
  refresh(rp, refreshToken, params) {
    return oidc.refreshTokenGrant(rp.config, refreshToken, params);
  }

  /**
   * The end_session_endpoint URL with these parameters only (RP-Initiated Logout 1.0 §2), as
   * the suite's BuildRedirectToEndSessionEndpoint sends it: openid-client's
   * buildEndSessionUrl would add a client_id, which changes what some modules test.
   */
  endSessionUrl(params = {}) {
    return endpointUrl(this.metadata.end_session_endpoint, params);
  }

  /**
   * The authorization request that carries a request object, `object` (request or request_uri,
   * and the module's changes), as BuildRequestObjectByValue/ByReferenceRedirectToAuthorizationEndpoint
   * send it: besides the object, only response_type, client_id, scope (the request's) and redirect_uri.
   */
  requestObjectUrl(rp, req, object) {
    const query = { response_type: 'code', client_id: rp.id, scope: req.params.scope, redirect_uri: CALLBACK };
    return endpointUrl(this.metadata.authorization_endpoint, { ...query, ...object });
  }
}

/** An endpoint's URL with these parameters only (those set to undefined left out). */
function endpointUrl(endpoint, params) {
  const url = new URL(endpoint);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** The authorization code is at least 128 bits long, and looks random (Shannon entropy > 96 bits). */
export function checkCode(code) {
  assert.ok(code, 'a code');
  assert.ok(code.length * 6 >= 128 || Buffer.byteLength(code) * 8 >= 128, 'EnsureMinimumAuthorizationCodeLength');
  const bits = entropy(code);
  assert.ok(bits > 96, `EnsureMinimumAuthorizationCodeEntropy: ${bits} bits`);
}

/** The Shannon entropy of a string, in bits (AbstractEnsureMinimumEntropy). */
export function entropy(s) {
  const counts = new Map();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
  return bits * s.length;
}

/** A link on the page for the tester's screenshot: exactly one (`what`), visible, with a text. */
export async function checkVisibleLink(link, what) {
  assert.equal(await link.count(), 1, what);
  assert.ok(await link.isVisible(), 'the link is visible');
  assert.match(await link.innerText(), /\S/, 'the link has a text');
}

/** The visible text of a page (for messages). */
export function text(html = '') {
  return html.replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/gi, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 600);
}

export { decodeJwt, decodeProtectedHeader, oidc, randomToken };
