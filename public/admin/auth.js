// Signing in to the dashboard: authorization code + PKCE (S256) with the provider's own
// first-party application (state.config, from /admin/config), and RP-initiated logout.

import { createVerifier, randomString, s256Challenge } from '../shared/pkce.js';
import { clearSession, setSession, state } from './state.js';

const PENDING = 'edge-oidc-admin.pending'; // { state, nonce, verifier, back } during sign-in

/** A JWT's payload, for display only: the signature is not checked here. */
function jwtPayload(jwt) {
  try {
    const bin = atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

export async function signIn() {
  const pending = { state: randomString(), nonce: randomString(), verifier: createVerifier(), back: location.hash };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(state.disco.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: state.config.client_id,
    redirect_uri: state.config.redirect_uri,
    scope: state.config.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256Challenge(pending.verifier),
    code_challenge_method: 'S256',
  });
  location.assign(url);
}

/** The redirect back from /authorize: checks state and issuer, redeems the code with the
 * verifier and keeps the tokens as the session. */
export async function handleCallback(p) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  // The code and state leave the address bar (and the history) right away.
  history.replaceState(null, '', location.pathname + (pending?.back || '#/applications'));
  if (!pending || p.get('state') !== pending.state) {
    throw new Error('This sign-in response does not match a request from this tab. Sign in again.');
  }
  if (p.has('iss') && p.get('iss') !== state.config.issuer) throw new Error(`Unexpected issuer ${p.get('iss')}.`);
  if (p.has('error')) throw new Error(p.get('error_description') || p.get('error'));
  const res = await fetch(state.disco.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: p.get('code'),
      redirect_uri: state.config.redirect_uri,
      client_id: state.config.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const t = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(t.error_description || t.error || `Token request failed: HTTP ${res.status}`);
  const claims = jwtPayload(t.id_token);
  if (claims.nonce !== pending.nonce) throw new Error('The ID token does not carry this sign-in’s nonce.');
  setSession({
    access_token: t.access_token,
    id_token: t.id_token,
    scope: t.scope ?? '', // the access token is opaque: the response says the scope
    expires_at: Date.now() + (t.expires_in ?? 3600) * 1000,
    email: claims.email || claims.name || claims.sub,
    sub: claims.sub,
  });
}

export function signOut() {
  const idToken = state.session?.id_token;
  clearSession();
  const url = new URL(state.disco?.end_session_endpoint || '/logout', location.origin);
  url.search = new URLSearchParams({
    ...(idToken ? { id_token_hint: idToken } : {}),
    post_logout_redirect_uri: state.config.post_logout_redirect_uri,
    client_id: state.config.client_id,
  });
  location.assign(url);
}
