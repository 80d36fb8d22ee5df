// The admin dashboard: a code + PKCE (S256) single-page app for this provider's own
// management API. No libraries, no build step, no third-party requests. The access token
// (with the `admin` scope) and the ID token (for logout) live in sessionStorage only.
// This module starts it and routes #/applications, #/users, #/roles, #/logs and #/activity
// to the views.

import { SESSION_ENDED, getJson } from './api.js';
import { viewActivity } from './activity.js';
import { viewApplication } from './application.js';
import { viewApplications } from './applications.js';
import { handleCallback, signIn, signOut } from './auth.js';
import { $, errorBox, h, main, showError } from './dom.js';
import { viewLogs } from './logs.js';
import { viewRoles } from './roles.js';
import { clearSession, isAdmin, sessionExpired, setProvider, setSignInError, state } from './state.js';
import { viewUsers } from './users.js';

// ---- the screens before the views ----

function renderSignIn() {
  const err = errorBox();
  showError(err, state.signInError && new Error(state.signInError));
  main.replaceChildren(h('section', { class: 'card narrow' },
    h('h1', { tabindex: '-1' }, 'Admin dashboard'),
    h('p', {}, 'Manage applications, users, roles and the audit log of this OpenID Connect provider. Sign in with an administrator account.'),
    err,
    h('button', { type: 'button', onclick: () => signIn().catch((e) => showError(err, e)) }, 'Sign in')));
}

function renderNotAdmin() {
  main.replaceChildren(h('section', { class: 'card narrow' },
    h('h1', { tabindex: '-1' }, 'This account is not an administrator'),
    h('p', {}, `You are signed in as ${state.session.email}, which lacks the admin role. Sign out and sign in with an administrator account.`),
    h('button', { type: 'button', onclick: signOut }, 'Sign out')));
}

// ---- routing ----

function route(focus) {
  const { session } = state;
  const signedIn = !!session && Date.now() < session.expires_at && isAdmin();
  $('nav').hidden = !signedIn;
  $('who').hidden = !session;
  $('signout').hidden = !signedIn;
  $('email').textContent = session?.email ?? '';
  if (!session) return renderSignIn();
  if (!isAdmin()) return renderNotAdmin();
  const [path, qs] = location.hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean);
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${parts[0]}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (parts[0] === 'applications' && parts[1]) viewApplication(decodeURIComponent(parts[1]));
  else if (parts[0] === 'applications') viewApplications();
  else if (parts[0] === 'users') viewUsers();
  else if (parts[0] === 'roles') viewRoles();
  else if (parts[0] === 'logs') viewLogs(new URLSearchParams(qs));
  else if (parts[0] === 'activity') viewActivity();
  else return location.replace('#/applications');
  if (focus) main.querySelector('h1')?.focus();
}

async function start() {
  $('signout').addEventListener('click', signOut);
  addEventListener(SESSION_ENDED, () => route());
  setProvider(...await Promise.all([getJson('/admin/config'), getJson('/.well-known/openid-configuration')]));
  const p = new URLSearchParams(location.search);
  if (p.has('code') || p.has('error')) {
    try {
      await handleCallback(p);
    } catch (e) {
      setSignInError(e.message);
    }
  }
  if (sessionExpired()) clearSession();
  addEventListener('hashchange', () => route(true));
  route(false);
}

start().catch((e) => {
  main.replaceChildren(h('section', { class: 'card narrow' }, h('h1', {}, 'The dashboard could not start'), h('p', { class: 'error', role: 'alert' }, e.message)));
});
