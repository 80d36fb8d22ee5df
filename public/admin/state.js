// What the dashboard keeps across views, in one object owned by this module: the other
// modules read `state` and change it only through the functions below. The session is
// mirrored in sessionStorage (never localStorage), so it survives reloads of this tab only.

const SESSION = 'edge-oidc-admin.session'; // { access_token, id_token, scope, expires_at, email, sub }

export const state = {
  /** GET /admin/config: client_id, redirect_uri, scope, issuer, post_logout_redirect_uri. */
  config: null,
  /** The provider's discovery document. */
  disco: null,
  /** The signed-in administrator, or null. */
  session: JSON.parse(sessionStorage.getItem(SESSION) ?? 'null'),
  /** Why signing in failed or the session ended; the sign-in screen shows it. */
  signInError: '',
  /** The create response, so the settings pane needs no second request; its client_secret
   * is shown once, there. */
  created: null,
};

export function setProvider(config, disco) {
  state.config = config;
  state.disco = disco;
}

export function setSession(session) {
  state.session = session;
  sessionStorage.setItem(SESSION, JSON.stringify(session));
}

export function clearSession() {
  state.session = null;
  sessionStorage.removeItem(SESSION);
}

export function setSignInError(message) {
  state.signInError = message;
}

export const sessionExpired = () => !!state.session && Date.now() > state.session.expires_at;

export const isAdmin = () => (state.session?.scope ?? '').split(' ').includes('admin');

/** Hands a just-created application to its settings pane (see takeCreated). */
export function handOver(app) {
  state.created = app;
}

/** The application handed over for clientId, with its secret, if any: once only, so the
 * secret is not shown again after leaving the pane. */
export function takeCreated(clientId) {
  const app = state.created?.client_id === clientId ? state.created : null;
  state.created = null;
  return { app, secret: app?.client_secret || null };
}
