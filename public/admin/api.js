// The dashboard's calls to the provider's management API (/api/v1/) with the session's
// access token. A call that finds the session over ends it: the sign-in screen shows.

import { clearSession, setSignInError, state } from './state.js';

/** Thrown by api() once the session is over: the sign-in screen already says so, so a
 * caller shows no error of its own for it. */
export const SIGNED_OUT = new Error('signed out');

/** The event (on window) by which api() has the router show the sign-in screen. */
export const SESSION_ENDED = 'edge-oidc-admin:session-ended';

// D1's bookmark from the last answer (X-D1-Bookmark), sent with the next call: a list read
// right after a change then shows the change, whichever replica answers.
let bookmark = null;

function dropSession(message) {
  clearSession();
  setSignInError(message);
  dispatchEvent(new Event(SESSION_ENDED));
}

/** Calls the management API; an error carries the API's error_description. */
export async function api(path, method = 'GET', body) {
  const { session } = state;
  if (!session || Date.now() > session.expires_at) {
    dropSession('Your session has ended. Sign in again.');
    throw SIGNED_OUT;
  }
  const headers = { authorization: `Bearer ${session.access_token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bookmark) headers['x-d1-bookmark'] = bookmark;
  const res = await fetch(`/api/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  bookmark = res.headers.get('x-d1-bookmark') || bookmark;
  if (res.status === 401) {
    dropSession('Your session has ended. Sign in again.');
    throw SIGNED_OUT;
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error_description || data?.error || `HTTP ${res.status}`);
  return data;
}

/** A JSON GET without credentials: /admin/config, the discovery document. */
export async function getJson(url) {
  const r = await fetch(url, { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}
