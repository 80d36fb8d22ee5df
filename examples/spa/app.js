// Example relying party on its own origin: authorization code + PKCE (S256), state and nonce,
// as a public client (no secret), with oauth4webapi. Every request to the provider is
// cross-origin, so the provider's CORS answer for this origin decides whether it works.
//
// What is kept where (this tab only, sessionStorage):
//   config   { issuer, clientId }                        the inputs, so a reload keeps them
//   pending  { issuer, clientId, state, nonce, verifier } between "Log in" and the callback
//   session  { claims, userinfo, idToken }               after a login, for display and logout
// The access token is used once for UserInfo and then dropped.

import * as oauth from './oauth4webapi.js';

const REDIRECT_URI = `${location.origin}/`;
const SCOPE = 'openid email profile';
const CONFIG_KEY = 'spa-example.config';
const PENDING_KEY = 'spa-example.pending';
const SESSION_KEY = 'spa-example.session';
const LOGOUT_KEY = 'spa-example.logout-state';

const $ = (id) => document.getElementById(id);
const load = (key) => JSON.parse(sessionStorage.getItem(key) ?? 'null');
const save = (key, value) => sessionStorage.setItem(key, JSON.stringify(value));

/**
 * Request options for oauth4webapi. It refuses plain http; a provider on a loopback address
 * (local development, `wrangler dev`) is allowed anyway, nothing else.
 */
function requestOptions(issuerUrl) {
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuerUrl.hostname);
  if (issuerUrl.protocol === 'http:' && !loopback) {
    throw new Error(`The issuer must use https (plain http only on a loopback address): ${issuerUrl.href}`);
  }
  return {
    [oauth.allowInsecureRequests]: issuerUrl.protocol === 'http:',
    // A request the browser blocks (CORS, network) is a bare "TypeError: Failed to fetch":
    // say which request it was and what usually causes it.
    [oauth.customFetch]: async (url, init) => {
      try {
        return await fetch(url, init);
      } catch (err) {
        throw new Error(
          `${init?.method ?? 'GET'} ${url} failed in the browser (${err.message}). ` +
            `If the provider answered, its response was withheld by CORS: is ${location.origin} ` +
            `among the application's allowed origins?`,
          { cause: err },
        );
      }
    },
  };
}

/** Discovery: the issuer's metadata, checked to belong to that issuer. */
async function discover(issuer) {
  let issuerUrl;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new Error(`The issuer is not a URL: "${issuer}"`);
  }
  const options = requestOptions(issuerUrl);
  const response = await oauth.discoveryRequest(issuerUrl, options);
  const as = await oauth.processDiscoveryResponse(issuerUrl, response);
  return { as, options };
}

function describe(err) {
  if (err instanceof oauth.AuthorizationResponseError) {
    return `The provider refused the login: ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  if (err instanceof oauth.ResponseBodyError) {
    return `${new URL(err.response?.url || 'about:blank').pathname} answered HTTP ${err.status}: ` +
      `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const c = err.cause?.[0];
    return `HTTP ${err.status}: ${c?.parameters?.error ?? 'challenge'} ${c?.parameters?.error_description ?? ''}`;
  }
  return `${err.message}${err.code ? ` [${err.code}]` : ''}`;
}

function setStatus(text) {
  $('status').textContent = text;
}

function fail(err) {
  console.error(err);
  setStatus('Not signed in.');
  $('error').textContent = describe(err);
}

function show(session) {
  $('signed-out').hidden = Boolean(session);
  $('signed-in').hidden = !session;
  $('claims').textContent = session ? JSON.stringify(session.claims, null, 2) : '';
  $('userinfo').textContent = session ? JSON.stringify(session.userinfo, null, 2) : '';
  if (session) {
    const who = session.userinfo.email ?? session.claims.email ?? session.claims.sub;
    setStatus(`Signed in as ${who}`);
  }
}

function readInputs() {
  const config = { issuer: $('issuer').value.trim(), clientId: $('client-id').value.trim() };
  save(CONFIG_KEY, config);
  return config;
}

async function login() {
  $('error').textContent = '';
  const { issuer, clientId } = readInputs();
  if (!issuer || !clientId) throw new Error('Enter the issuer and the client ID first.');
  setStatus('Discovering the provider…');
  const { as } = await discover(issuer);
  if (!as.authorization_endpoint) throw new Error('The provider has no authorization_endpoint.');

  const pending = {
    issuer,
    clientId,
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
  };
  save(PENDING_KEY, pending);
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
  });
  setStatus('Redirecting to the provider…');
  location.assign(url);
}

/** Back from the provider with ?code=&state=&iss= (or ?error=): finish the login. */
async function handleCallback(callbackUrl) {
  // Take code and state out of the address bar (and the history) right away.
  history.replaceState(null, '', location.pathname);
  const pending = load(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!pending) throw new Error('An authorization response arrived, but no login was in progress in this tab.');

  setStatus('Checking the authorization response…');
  const { as, options } = await discover(pending.issuer);
  const client = { client_id: pending.clientId };
  // Checks state, and iss against the discovered issuer (RFC 9207: the provider sends it);
  // an ?error= response throws AuthorizationResponseError.
  const params = oauth.validateAuthResponse(as, client, callbackUrl.searchParams, pending.state);

  setStatus('Exchanging the code…');
  const tokenResponse = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(), // public client: client_id in the body, no secret
    params,
    REDIRECT_URI,
    pending.verifier,
    options,
  );
  // Checks the ID token's iss, aud, exp/iat and our nonce.
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenResponse, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  const claims = oauth.getValidatedIdTokenClaims(tokens);

  setStatus('Fetching UserInfo…');
  const userinfoResponse = await oauth.userInfoRequest(as, client, tokens.access_token, options);
  // Checks that the UserInfo sub is the ID token's sub.
  const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub, userinfoResponse);

  const session = { claims, userinfo, idToken: tokens.id_token };
  save(SESSION_KEY, session);
  show(session);
}

/**
 * Forgets the tokens here, then ends the provider's session too (RP-Initiated Logout) when it
 * has an end_session_endpoint; it sends the browser back to this page, which must be among
 * the application's post-logout redirect URIs.
 */
async function logout() {
  const session = load(SESSION_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  $('error').textContent = '';
  show(null);
  setStatus('Signed out.');
  const config = load(CONFIG_KEY);
  if (!session || !config?.issuer) return;
  const { as } = await discover(config.issuer);
  if (!as.end_session_endpoint) return;
  const state = oauth.generateRandomState();
  sessionStorage.setItem(LOGOUT_KEY, state);
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({
    id_token_hint: session.idToken,
    client_id: config.clientId,
    post_logout_redirect_uri: REDIRECT_URI,
    state,
  });
  location.assign(url);
}

async function main() {
  $('redirect-uri').textContent = REDIRECT_URI;
  $('origin').textContent = location.origin;
  const url = new URL(location.href);
  const q = url.searchParams;

  // ?issuer=&client_id= fill (and remember) the inputs.
  let config = load(CONFIG_KEY) ?? { issuer: '', clientId: '' };
  if (q.has('issuer') || q.has('client_id')) {
    config = { issuer: q.get('issuer') ?? config.issuer, clientId: q.get('client_id') ?? config.clientId };
    save(CONFIG_KEY, config);
    history.replaceState(null, '', location.pathname);
  }
  $('issuer').value = config.issuer;
  $('client-id').value = config.clientId;
  $('login').addEventListener('click', () => login().catch(fail));
  $('logout').addEventListener('click', () => logout().catch(fail));

  if (q.has('code') || q.has('error')) {
    show(null);
    await handleCallback(url);
    return;
  }
  if (q.has('state') && q.get('state') === sessionStorage.getItem(LOGOUT_KEY)) {
    // Back from the provider's logout.
    sessionStorage.removeItem(LOGOUT_KEY);
    history.replaceState(null, '', location.pathname);
    show(null);
    setStatus('Signed out.');
    return;
  }
  const session = load(SESSION_KEY);
  show(session);
  if (!session) setStatus('Not signed in.');
}

main().catch(fail);
