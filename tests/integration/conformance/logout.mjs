// What the suite's logout modules share (AbstractOIDCCRpInitiatedLogout, the RP-Initiated and
// Back-Channel Logout plans): a normal first login with a 128-character state (onConfigure:
// requested_state_length), the end-session request as CreateEndSessionEndpointRequest builds
// it (id_token_hint, post_logout_redirect_uri, state; never a client_id), and the second
// authorization, with prompt=none, that must come back with an error needing a user interface.

import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';

import { POST_LOGOUT, randomToken, text } from './op.mjs';

export const NEEDS_UI = ['login_required', 'interaction_required', 'consent_required', 'account_selection_required'];

/** The first authorization: code, token request, userinfo (AbstractOIDCCServerTest). */
export async function signIn(op, rp) {
  const cb = await op.authorize(rp, { state: randomToken(96) });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub);
  return { idToken: tokens.id_token, claims };
}

/**
 * CreateRandomEndSessionState: generateVSChar(50, 10, 30), '+', ' ' and ';' made '~'. The
 * 30 punctuation characters here are all of the ones its ranges allow, once each.
 */
export function endSessionState() {
  const pick = (chars, n) => Array.from({ length: n }, () => chars[randomInt(chars.length)]).join('');
  return `${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 50)}${pick('0123456789', 10)}!"#$%&'()*,-./:<=>?@[\\]^_\`{|}~`;
}

/**
 * The end-session request (CreateEndSessionEndpointRequest and the module's changes to it),
 * opened in the browser as BuildRedirectToEndSessionEndpoint does: only `params`, no client_id
 * (Op.endSessionUrl).
 */
export function endSession(op, params, opts = {}) {
  return op.browse(op.endSessionUrl(params), { login: false, ...opts });
}

/** The suite's request: a valid hint, the registered post-logout URI and a fresh state. */
export const fullRequest = (idToken) => ({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT, state: endSessionState() });

/**
 * The post-logout redirect the modules wait for: at the registered URI (a GET), with the state
 * sent (CheckPostLogoutState, FAILURE) or none when none was sent (CheckNoPostLogoutState,
 * FAILURE), and nothing but state (CheckForUnexpectedParametersInPostLogoutRedirect, a WARNING
 * in the suite, met here).
 */
export function checkPostLogoutRedirect(out, state) {
  assert.ok(out.callback, `the OP should send the user to post_logout_redirect, but stopped at ${out.page?.url}: ${text(out.page?.html)}`);
  const { url, method, params } = out.callback;
  assert.equal(url.origin + url.pathname, POST_LOGOUT, 'back at the registered post_logout_redirect_uri');
  assert.equal(method, 'GET');
  assert.equal(params.get('state'), state ?? null, state === undefined ? 'CheckNoPostLogoutState' : 'CheckPostLogoutState');
  assert.deepEqual([...params.keys()].filter((k) => k !== 'state'), [], 'CheckForUnexpectedParametersInPostLogoutRedirect');
}

/**
 * The second authorization, prompt=none, 128-character state: an error redirected back
 * (performGenericAuthorizationEndpointErrorResponseValidation: state, iss, error, no code,
 * error_description's characters, error_uri; only the expected parameters, a WARNING met here)
 * that is one needing a user interface
 * (CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface, FAILURE).
 */
export async function checkLoggedOut(op, rp) {
  const cb = await op.authorizeError(rp, { prompt: 'none', state: randomToken(96) });
  const error = cb.params.get('error');
  assert.ok(NEEDS_UI.includes(error), `the session ended: an error that needs UI, got ${cb.params}`);
  const description = cb.params.get('error_description');
  if (description !== null) assert.match(description, /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/, 'ValidateErrorDescriptionFromAuthorizationEndpointResponseError');
  if (cb.params.has('error_uri')) assert.doesNotThrow(() => new URL(cb.params.get('error_uri')), 'ValidateErrorUriFromAuthorizationEndpointResponseError');
  const expected = ['error', 'error_description', 'error_uri', 'state', 'session_state', 'iss'];
  for (const k of cb.params.keys()) assert.ok(expected.includes(k), `CheckForUnexpectedParametersInErrorResponseFromAuthorizationEndpoint: ${k}`);
  return error;
}

/**
 * The modules whose placeholder is an error page or a logout confirmation (Expect*ErrorPage):
 * the browser must stop on the provider's page (calling post_logout_redirect fails the module)
 * and the page is one of the two. An error page must say what is wrong (`about`), as the
 * reviewer of the screenshot asks; a confirmation must not lead back to the client either.
 * Returns which of the two the provider showed.
 */
export async function expectErrorOrConfirmation(op, out, label, about) {
  assert.ok(out.page, `the OP must not redirect back: ${out.callback?.url}`);
  await op.screenshot(label);
  if (out.page.form === '/logout') {
    const after = await op.settle({ confirmLogout: true });
    assert.ok(after.page, `confirmed, the OP still must not redirect back: ${after.callback?.url}`);
    return 'confirmation';
  }
  assert.equal(out.page.status, 400, `an error page: ${out.page.status} ${text(out.page.html)}`);
  assert.match(text(out.page.html), about, 'the error page says what is wrong');
  return 'error';
}

/**
 * The modules whose placeholder is "the successful logout page" (ExpectSuccessfulLogoutPage):
 * no redirect to the client; after the tester confirms, if the provider asks, the signed-out
 * page (screenshot). The module leaves "the OP must log the user out" to the reviewer; here
 * prompt=none then checks that it did.
 */
export async function expectLoggedOutPage(op, rp, out, label) {
  assert.ok(out.page, `the OP must not redirect back: ${out.callback?.url}`);
  let { page } = out;
  if (page.form === '/logout') {
    await op.screenshot(`${label}-confirmation`);
    const after = await op.settle({ confirmLogout: true });
    assert.ok(after.page, `the OP must not redirect back: ${after.callback?.url}`);
    page = after.page;
  }
  await op.screenshot(label);
  assert.equal(page.status, 200, `the signed-out page: ${page.status} ${text(page.html)}`);
  assert.match(text(page.html), /you are (signed|logged) out/i, 'the page says the user is logged out');
  await checkLoggedOut(op, rp);
  return page;
}

/**
 * CheckDiscEndpointAllEndpointsAreHttps and CheckDiscEndSessionEndpoint (FAILURE): every
 * *_endpoint an https URL. The server under test here is plain http on loopback, its issuer
 * the request's origin: there every endpoint must hang off that issuer, so that behind an https
 * issuer (any deployment) each is https. Against an https issuer, https is required outright.
 */
export function checkEndpointsAreHttps(op) {
  const issuer = new URL(op.issuer);
  const local = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
  const endpoints = Object.keys(op.metadata).filter((k) => k.endsWith('_endpoint'));
  assert.ok(endpoints.includes('end_session_endpoint'), 'CheckDiscEndSessionEndpoint: end_session_endpoint');
  for (const k of endpoints) {
    assert.equal(typeof op.metadata[k], 'string', `${k} is a string`);
    const url = new URL(op.metadata[k]);
    assert.equal(url.protocol, local ? 'http:' : 'https:', `CheckDiscEndpointAllEndpointsAreHttps: ${k}`);
    if (local) assert.equal(url.origin, issuer.origin, `${k} hangs off the issuer`);
  }
}
