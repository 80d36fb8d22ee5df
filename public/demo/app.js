// Demo relying party: authorization code + PKCE (S256) as a public client against this origin.
// No libraries, no third-party requests. Tokens live in sessionStorage for display only.
// PKCE, state and nonce come from the helper the admin dashboard uses too.

import { createVerifier, randomString, s256Challenge } from '../shared/pkce.js';

const REDIRECT_URI = `${location.origin}/demo/`;
const SCOPE = 'openid email profile';
const CLIENT_KEY = 'edge-oidc-demo.client_id';
const PENDING_KEY = 'edge-oidc-demo.pending'; // { state, nonce, verifier } during a login
const RESULT_KEY = 'edge-oidc-demo.result'; // { claims, userinfo } after a login

const $ = (id) => document.getElementById(id);

/** Decodes a JWT payload. Display only: the signature is not checked here. */
function decodeJwt(jwt) {
  const part = jwt.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

let discoveryPromise;
function discovery() {
  discoveryPromise ??= fetch('/.well-known/openid-configuration').then((r) => {
    if (!r.ok) throw new Error(`discovery failed: HTTP ${r.status}`);
    return r.json();
  });
  return discoveryPromise;
}

function show(result) {
  $('logged-out').hidden = Boolean(result);
  $('logged-in').hidden = !result;
  $('claims').textContent = result ? JSON.stringify(result.claims, null, 2) : '';
  $('userinfo').textContent = result ? JSON.stringify(result.userinfo, null, 2) : '';
}

function fail(message) {
  $('status').textContent = '';
  $('error').textContent = message;
}

async function login() {
  $('error').textContent = '';
  const clientId = $('client-id').value.trim();
  if (!clientId) return fail('Enter a client ID first.');
  localStorage.setItem(CLIENT_KEY, clientId);

  const pending = { state: randomString(), nonce: randomString(), verifier: createVerifier() };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const { authorization_endpoint: endpoint } = await discovery();
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256Challenge(pending.verifier),
    code_challenge_method: 'S256',
  });
  location.assign(url);
}

async function handleCallback(params) {
  // Remove code/state from the address bar (and history) right away.
  history.replaceState(null, '', location.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null');
  sessionStorage.removeItem(PENDING_KEY);
  const config = await discovery();

  if (!pending || params.get('state') !== pending.state) throw new Error('state mismatch: ignoring this response');
  if (params.get('iss') !== config.issuer) throw new Error(`unexpected iss: ${params.get('iss')}`);
  if (params.has('error')) {
    throw new Error(`${params.get('error')}: ${params.get('error_description') ?? ''}`);
  }
  const clientId = localStorage.getItem(CLIENT_KEY);

  $('status').textContent = 'Exchanging the code…';
  const tokenRes = await fetch(config.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code'),
      redirect_uri: REDIRECT_URI,
      code_verifier: pending.verifier,
      client_id: clientId,
    }),
  });
  const tokens = await tokenRes.json();
  if (!tokenRes.ok) throw new Error(`token endpoint: ${tokens.error}: ${tokens.error_description ?? ''}`);

  const claims = decodeJwt(tokens.id_token);
  if (claims.iss !== config.issuer) throw new Error('ID token: wrong issuer');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(clientId)) throw new Error('ID token: wrong audience');
  if (claims.nonce !== pending.nonce) throw new Error('ID token: nonce mismatch');

  $('status').textContent = 'Fetching userinfo…';
  const infoRes = await fetch(config.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  const userinfo = await infoRes.json();
  if (!infoRes.ok) throw new Error(`userinfo: HTTP ${infoRes.status}`);
  if (userinfo.sub !== claims.sub) throw new Error('userinfo: sub differs from the ID token');

  const result = { claims, userinfo };
  sessionStorage.setItem(RESULT_KEY, JSON.stringify(result));
  $('status').textContent = '';
  show(result);
}

function logout() {
  sessionStorage.removeItem(RESULT_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  $('error').textContent = '';
  show(null);
}

async function main() {
  $('redirect-uri').textContent = REDIRECT_URI;
  const params = new URLSearchParams(location.search);
  if (params.has('client_id')) {
    localStorage.setItem(CLIENT_KEY, params.get('client_id'));
    history.replaceState(null, '', location.pathname);
  }
  $('client-id').value = localStorage.getItem(CLIENT_KEY) ?? '';
  $('login').addEventListener('click', () => login().catch((e) => fail(e.message)));
  $('logout').addEventListener('click', logout);

  if (params.has('code') || params.has('error')) {
    show(null);
    await handleCallback(params);
  } else {
    show(JSON.parse(sessionStorage.getItem(RESULT_KEY) ?? 'null'));
  }
}

main().catch((e) => fail(e.message));
