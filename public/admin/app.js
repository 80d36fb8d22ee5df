// The admin dashboard: a code + PKCE (S256) single-page app for this provider's own
// management API. No libraries, no build step, no third-party requests. The access token
// (with the `admin` scope) and the ID token (for logout) live in sessionStorage only.

import { SESSION_ENDED, SIGNED_OUT, api, getJson } from './api.js';
import { handleCallback, signIn, signOut } from './auth.js';
import {
  $, copyButton, errorBox, field, h, lines, main, nextId, page, showError, timeEl, toast,
} from './dom.js';
import {
  clearSession, handOver, isAdmin, sessionExpired, setProvider, setSignInError, state, takeCreated,
} from './state.js';
import { openDialog, pager } from './widgets.js';

const TYPES = [
  ['traditional', 'Traditional web', 'Server-rendered app with a backend that keeps a secret.'],
  ['spa', 'Single-page app', 'Runs in the browser, uses PKCE, no secret.'],
  ['native', 'Native', 'Mobile or desktop app, PKCE, custom-scheme or loopback redirects.'],
  ['m2m', 'Machine-to-machine', 'A backend service calling APIs with client credentials, no users.'],
];
const TYPE_LABEL = Object.fromEntries(TYPES.map(([t, l]) => [t, l]));
const CONFIDENTIAL = new Set(['traditional', 'm2m']);
const GRANTS = {
  traditional: ['authorization_code', 'refresh_token', 'client_credentials'],
  spa: ['authorization_code', 'refresh_token'],
  native: ['authorization_code', 'refresh_token'],
  m2m: ['client_credentials'],
};
const GRANT_LABEL = {
  authorization_code: 'Authorization code',
  refresh_token: 'Refresh token',
  client_credentials: 'Client credentials',
};
// The event names of src/oidc/audit.rs.
const EVENTS = [
  'login.succeeded', 'login.failed', 'logout', 'consent.granted', 'consent.revoked',
  'token.issued', 'refresh_token.reused', 'code.replayed', 'client_auth.failed',
  'application.created', 'application.updated', 'application.deleted',
  'application.secret_rotated', 'user.created', 'user.updated', 'user.disabled', 'key.rotated',
];

// ---- views ----

function renderSignIn() {
  const err = errorBox();
  showError(err, state.signInError && new Error(state.signInError));
  main.replaceChildren(h('section', { class: 'card narrow' },
    h('h1', { tabindex: '-1' }, 'Admin dashboard'),
    h('p', {}, 'Manage applications, users and the audit log of this OpenID Connect provider. Sign in with an administrator account.'),
    err,
    h('button', { type: 'button', onclick: () => signIn().catch((e) => showError(err, e)) }, 'Sign in')));
}

function renderNotAdmin() {
  main.replaceChildren(h('section', { class: 'card narrow' },
    h('h1', { tabindex: '-1' }, 'This account is not an administrator'),
    h('p', {}, `You are signed in as ${state.session.email}, which lacks the admin role. Sign out and sign in with an administrator account.`),
    h('button', { type: 'button', onclick: signOut }, 'Sign out')));
}

// Applications

function viewApplications() {
  const err = errorBox();
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No applications yet.');
  const more = pager(async (cursor) => {
    const data = await api(`applications?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    return [data.applications.map((a) => h('tr', {},
      h('td', {}, h('a', { href: `#/applications/${encodeURIComponent(a.client_id)}` }, a.name)),
      h('td', {}, TYPE_LABEL[a.type] ?? a.type),
      h('td', {}, h('code', {}, a.client_id)))), data.next_cursor];
  }, body, empty, err);
  const slot = h('div');
  const createBtn = h('button', {
    type: 'button',
    onclick: () => {
      createBtn.hidden = true;
      slot.replaceChildren(createForm(() => {
        slot.replaceChildren();
        createBtn.hidden = false;
        createBtn.focus();
      }));
      slot.querySelector('input:checked').focus();
    },
  }, 'Create application');
  page('Applications', h('div', { class: 'bar' }, createBtn), slot, err,
    h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Client ID'))), body),
    empty, more.btn);
  more.reload();
}

function createForm(cancel) {
  const err = errorBox();
  const name = h('input', { required: true, autocomplete: 'off', maxlength: '200' });
  const picker = h('fieldset', { class: 'types' }, h('legend', {}, 'Application type'),
    TYPES.map(([value, label, about], i) => {
      const id = `type-${value}`;
      return h('div', { class: 'type' },
        h('input', { type: 'radio', name: 'type', id, value, checked: i === 0, 'aria-describedby': `${id}-about` }),
        h('label', { for: id }, label),
        h('p', { id: `${id}-about`, class: 'hint' }, about));
    }));
  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      const type = form.querySelector('input[name=type]:checked').value;
      try {
        const app = await api('applications', 'POST', { name: name.value.trim(), type });
        handOver(app);
        location.hash = `#/applications/${encodeURIComponent(app.client_id)}`;
      } catch (x) {
        if (x !== SIGNED_OUT) showError(err, x);
      }
    },
  },
  h('h2', {}, 'New application'), picker, field('Name', name), err,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create'), h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel')));
  return form;
}

async function viewApplication(clientId) {
  const err = errorBox();
  page('Application', err);
  // A secret is shown once: not again after leaving this pane.
  const { app: created, secret } = takeCreated(clientId);
  let app = created;
  try {
    app ??= await api(`applications/${encodeURIComponent(clientId)}`);
  } catch (e) {
    if (e !== SIGNED_OUT) showError(err, e);
    return;
  }
  if (location.hash.split('?')[0] !== `#/applications/${encodeURIComponent(clientId)}`) return;
  const focus = document.activeElement === document.body || main.contains(document.activeElement);
  renderApplication(app, secret, focus);
}

function renderApplication(app, secret, focus) {
  const id = encodeURIComponent(app.client_id);
  const confidential = CONFIDENTIAL.has(app.type);
  const title = h('h1', { tabindex: '-1' }, app.name);
  const cid = h('input', { id: 'client-id', readonly: true, value: app.client_id, spellcheck: 'false' });

  // Client secret: shown once, right after create or rotate.
  const secretArea = h('div', { class: 'secret' });
  const drawSecret = () => {
    const kids = [h('h2', {}, 'Client secret')];
    if (!confidential) {
      kids.push(h('p', { class: 'muted' }, 'A public client has no secret: it proves itself with PKCE.'));
    } else {
      if (secret) {
        const input = h('input', { id: 'client-secret', type: 'password', readonly: true, value: secret, spellcheck: 'false', autocomplete: 'off' });
        const reveal = h('button', {
          type: 'button',
          class: 'secondary small',
          'aria-pressed': 'false',
          onclick: () => {
            const show = input.type === 'password';
            input.type = show ? 'text' : 'password';
            reveal.setAttribute('aria-pressed', String(show));
          },
        }, 'Reveal');
        kids.push(h('label', { for: input.id, class: 'sr' }, 'Client secret'),
          h('div', { class: 'copyrow' }, input, reveal, copyButton(() => secret, 'client secret', 'Copy client secret')),
          h('p', { class: 'notice' }, 'Copy it now: it is stored hashed and cannot be shown again. If it is lost, rotate the secret.'));
      } else {
        kids.push(h('p', { class: 'muted' }, 'Stored hashed: it cannot be shown again. Rotate it to issue a new one.'));
      }
      if (app.previous_secret_expires_at) {
        kids.push(h('p', { class: 'hint' }, 'The previous secret keeps working until ', timeEl(app.previous_secret_expires_at), '.'));
      }
      kids.push(h('button', { type: 'button', class: 'secondary small', onclick: rotate }, 'Rotate secret'));
    }
    secretArea.replaceChildren(...kids);
  };
  const rotate = () => {
    const grace = h('select', {},
      [['0', 'No time: it stops now'], ['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days']]
        .map(([v, l]) => h('option', { value: v }, l)));
    openDialog({
      title: 'Rotate the client secret?',
      body: [h('p', {}, `A new secret is issued for ${app.name}. Services that use the current one fail once it stops working.`),
        field('Keep the current secret working for', grace)],
      confirm: 'Rotate',
      danger: true,
      run: async () => {
        const r = await api(`applications/${id}/rotate-secret`, 'POST', { grace_period_seconds: Number(grace.value) });
        secret = r.client_secret;
        app.previous_secret_expires_at = r.previous_secret_expires_at;
        drawSecret();
        toast('New client secret issued');
        setTimeout(() => $('client-secret')?.focus()); // once the dialog has closed
      },
    });
  };
  drawSecret();

  // Settings form.
  const ts = app.token_settings ?? {};
  const f = {
    name: h('input', { required: true, value: app.name, maxlength: '200' }),
    description: h('textarea', { rows: '2', value: app.description ?? '' }),
    home_url: h('input', { type: 'url', value: app.home_url ?? '', placeholder: 'https://app.example.com' }),
    redirect_uris: h('textarea', { rows: '3', spellcheck: 'false', value: (app.redirect_uris ?? []).join('\n') }),
    post_logout_redirect_uris: h('textarea', { rows: '2', spellcheck: 'false', value: (app.post_logout_redirect_uris ?? []).join('\n') }),
    allowed_origins: h('textarea', { rows: '2', spellcheck: 'false', value: (app.allowed_origins ?? []).join('\n') }),
    cors_from_redirect_uris: h('input', { type: 'checkbox', checked: !!app.cors_from_redirect_uris }),
    first_party: h('input', { type: 'checkbox', checked: !!app.first_party }),
    id_token_ttl: h('input', { type: 'number', min: '60', max: '86400', required: true, value: ts.id_token_ttl }),
    access_token_ttl: h('input', { type: 'number', min: '60', max: '86400', required: true, value: ts.access_token_ttl }),
    refresh_token_ttl_days: h('input', { type: 'number', min: '1', max: '365', required: true, value: ts.refresh_token_ttl_days }),
    always_issue_refresh_token: h('input', { type: 'checkbox', checked: !!ts.always_issue_refresh_token }),
    rotate_refresh_token: h('input', { type: 'checkbox', checked: !!ts.rotate_refresh_token }),
    alg: h('select', {}, ['RS256', 'ES256', 'EdDSA'].map((a) => h('option', {}, a))),
    auth: h('select', {}, ['client_secret_basic', 'client_secret_post'].map((a) => h('option', {}, a))),
    audiences: h('textarea', { rows: '2', spellcheck: 'false', value: (app.allowed_audiences ?? []).join('\n') }),
    scopes: h('input', { spellcheck: 'false', value: (app.allowed_scopes ?? []).join(' ') }),
  };
  f.alg.value = app.id_token_signed_response_alg ?? 'RS256';
  f.auth.value = app.token_endpoint_auth_method;
  const grants = Object.fromEntries(GRANTS[app.type].map((g) => [g, h('input', { type: 'checkbox', checked: (app.grant_types ?? []).includes(g) })]));
  const hasCc = () => grants.client_credentials?.checked;
  const warnings = h('div', { class: 'warning', role: 'status' });
  const drawWarnings = (list) => {
    warnings.replaceChildren(...(list?.length ? [h('strong', {}, 'Warning'), h('ul', {}, list.map((w) => h('li', {}, w)))] : []));
    warnings.hidden = !list?.length;
  };
  drawWarnings(app.warnings);
  const status = h('span', { class: 'saved', role: 'status' });
  const err = errorBox();
  const redirectHint = app.type === 'native'
    ? 'One per line. Private-use schemes (com.example.app:/callback) and loopback (http://127.0.0.1/callback, any port) work.'
    : 'One per line, matched exactly. Wildcards (https://*.example.com/cb, https://host/path/*) work but are not recommended.';
  const ccBox = h('fieldset', {}, h('legend', {}, 'Client credentials'),
    field('Allowed audiences', f.audiences, 'APIs (resource URIs) this application may get tokens for, one per line.'),
    field('Allowed scopes', f.scopes, 'Separated by spaces.'));
  const syncCc = () => { ccBox.hidden = !hasCc(); };
  syncCc();
  grants.client_credentials?.addEventListener('change', syncCc);

  const form = h('form', {
    class: 'card settings',
    novalidate: true,
    oninput: () => { status.textContent = ''; },
    onsubmit: async (e) => {
      e.preventDefault();
      status.textContent = '';
      const body = {
        name: f.name.value.trim(),
        description: f.description.value.trim(),
        home_url: f.home_url.value.trim() || null,
        redirect_uris: lines(f.redirect_uris.value),
        post_logout_redirect_uris: lines(f.post_logout_redirect_uris.value),
        allowed_origins: lines(f.allowed_origins.value),
        cors_from_redirect_uris: f.cors_from_redirect_uris.checked,
        first_party: f.first_party.checked,
        grant_types: Object.keys(grants).filter((g) => grants[g].checked),
        id_token_signed_response_alg: f.alg.value,
        token_settings: {
          id_token_ttl: Number(f.id_token_ttl.value),
          access_token_ttl: Number(f.access_token_ttl.value),
          refresh_token_ttl_days: Number(f.refresh_token_ttl_days.value),
          always_issue_refresh_token: f.always_issue_refresh_token.checked,
          rotate_refresh_token: f.rotate_refresh_token.checked,
        },
      };
      if (confidential) body.token_endpoint_auth_method = f.auth.value;
      if (hasCc()) {
        body.allowed_audiences = lines(f.audiences.value);
        body.allowed_scopes = f.scopes.value.split(/\s+/).filter(Boolean);
      }
      const save = form.querySelector('button[type=submit]');
      save.disabled = true;
      try {
        const r = await api(`applications/${id}`, 'PATCH', body);
        Object.assign(app, r);
        title.textContent = r.name;
        drawWarnings(r.warnings);
        showError(err, null);
        status.textContent = 'Saved';
      } catch (x) {
        if (x !== SIGNED_OUT) showError(err, x);
      } finally {
        save.disabled = false;
      }
    },
  },
  h('h2', {}, 'Settings'),
  field('Name', f.name, 'Shown on the login and consent pages.'),
  field('Description', f.description),
  field('Home URL', f.home_url, 'Error pages link back here.'),
  h('fieldset', {}, h('legend', {}, 'URIs'),
    field('Redirect URIs', f.redirect_uris, redirectHint),
    field('Post-logout redirect URIs', f.post_logout_redirect_uris, 'Where users may be sent after logout. One per line.'),
    field('Allowed origins', f.allowed_origins, 'Browser origins that may call the token and userinfo endpoints (CORS). One per line.'),
    field('Same as redirect URIs', f.cors_from_redirect_uris, 'Also allow the origins of the redirect URIs.')),
  h('fieldset', {}, h('legend', {}, 'Grant types'),
    Object.entries(grants).map(([g, input]) => field(GRANT_LABEL[g], input))),
  ccBox,
  h('fieldset', {}, h('legend', {}, 'Tokens'),
    h('div', { class: 'cols' },
      field('ID token lifetime (seconds)', f.id_token_ttl),
      field('Access token lifetime (seconds)', f.access_token_ttl),
      field('Refresh token lifetime (days)', f.refresh_token_ttl_days),
      field('ID token signing algorithm', f.alg),
      confidential && field('Client authentication', f.auth)),
    field('Always issue a refresh token', f.always_issue_refresh_token, 'Even when the offline_access scope is not requested.'),
    field('Rotate refresh tokens', f.rotate_refresh_token, 'Each use returns a new one; reusing an old one revokes the grant.')),
  field('First-party', f.first_party, 'A trusted application: users are not asked for consent (loopback redirects always ask).'),
  err,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save'), status));

  // Endpoints from the discovery document.
  const endpoints = [
    ['Discovery', `${state.disco.issuer}/.well-known/openid-configuration`],
    ['Authorize', state.disco.authorization_endpoint],
    ['Token', state.disco.token_endpoint],
    ['UserInfo', state.disco.userinfo_endpoint],
    ['End session', state.disco.end_session_endpoint],
    ['JWKS', state.disco.jwks_uri],
  ].filter(([, url]) => url);
  const endpointBox = h('section', { class: 'card' }, h('h2', {}, 'Endpoints'),
    h('dl', { class: 'endpoints' }, endpoints.map(([label, url]) => [
      h('dt', {}, label),
      h('dd', {}, h('code', {}, url), copyButton(() => url, `${label} URL`, `Copy ${label} URL`)),
    ])));

  const del = h('button', {
    type: 'button',
    class: 'danger',
    onclick: () => openDialog({
      title: `Delete ${app.name}?`,
      body: [h('p', {}, 'Its client ID stops working at once. This cannot be undone.')],
      confirm: 'Delete',
      danger: true,
      run: async () => {
        await api(`applications/${id}`, 'DELETE');
        toast(`Deleted ${app.name}`);
        location.hash = '#/applications';
      },
    }),
  }, 'Delete application');

  // The dashboard's own application: the API refuses changes to it.
  const builtIn = app.client_id === state.config.client_id;
  main.replaceChildren(
    // replaceChildren, unlike h(), would print a bare `false`.
    ...(builtIn ? [h('p', { class: 'notice' }, 'This is the dashboard’s own application: the provider manages it, and it cannot be changed here.')] : []),
    h('div', { class: 'bar' }, title, h('span', { class: 'badge' }, TYPE_LABEL[app.type] ?? app.type)),
    h('section', { class: 'card creds' },
      h('div', {}, h('h2', {}, 'Credentials'),
        h('div', { class: 'field' }, h('label', { for: cid.id }, 'Client ID'), h('div', { class: 'copyrow' }, cid, copyButton(() => app.client_id, 'client ID'))),
        h('p', { class: 'hint' }, h('a', { href: `#/logs?client_id=${id}` }, 'Audit records of this application'))),
      secretArea),
    warnings,
    h('div', { class: 'split' }, form, h('aside', {}, endpointBox,
      h('section', { class: 'card' }, h('h2', {}, 'Danger zone'), h('p', { class: 'hint' }, 'Deleting removes the application and its consents.'), del))));
  if (builtIn) {
    for (const el of form.elements) el.disabled = true;
    secretArea.hidden = del.parentElement.hidden = true;
  }
  if (focus) title.focus();
}

// Users

function viewUsers() {
  const err = errorBox();
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No users found.');
  const q = h('input', { type: 'search', id: 'user-search', placeholder: 'Email or name', autocomplete: 'off' });
  const more = pager(async (cursor) => {
    const params = new URLSearchParams({ limit: '50' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (cursor) params.set('cursor', cursor);
    const data = await api(`users?${params}`);
    return [data.users.map(userRow), data.next_cursor];
  }, body, empty, err);
  let timer;
  const search = h('form', {
    role: 'search',
    class: 'bar',
    onsubmit: (e) => { e.preventDefault(); clearTimeout(timer); more.reload(); },
  }, field('Search', q), h('button', { type: 'submit', class: 'secondary' }, 'Search'));
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(more.reload, 300); });

  const f = {
    email: h('input', { type: 'email', required: true, autocomplete: 'off', spellcheck: 'false' }),
    password: h('input', { type: 'password', required: true, autocomplete: 'new-password' }),
    name: h('input', { autocomplete: 'off' }),
    admin: h('input', { type: 'checkbox' }),
  };
  const cerr = errorBox();
  const cstatus = h('span', { class: 'saved', role: 'status' });
  const create = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      cstatus.textContent = '';
      const body = { email: f.email.value.trim(), password: f.password.value };
      if (f.name.value.trim()) body.name = f.name.value.trim();
      if (f.admin.checked) body.roles = ['admin'];
      try {
        const u = await api('users', 'POST', body);
        create.reset();
        showError(cerr, null);
        cstatus.textContent = `Created ${u.email}`;
        more.reload();
      } catch (x) {
        if (x !== SIGNED_OUT) showError(cerr, x);
      }
    },
  },
  h('h2', {}, 'New user'),
  h('div', { class: 'cols' }, field('Email', f.email), field('Password', f.password), field('Name', f.name)),
  field('Administrator', f.admin, 'Can sign in to this dashboard and use the management API.'),
  cerr, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create user'), cstatus));

  page('Users', create, search, err,
    h('table', {}, h('thead', {}, h('tr', {}, ['Email', 'Name', 'Roles', 'Status', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))), body),
    empty, more.btn);
  more.reload();
}

function userRow(u) {
  const self = u.id === state.session?.sub;
  const admin = (u.roles ?? []).includes('admin');
  const patch = async (e, body, message) => {
    const btn = e.currentTarget;
    const index = [...btn.parentElement.children].indexOf(btn);
    btn.disabled = true;
    try {
      const nu = await api(`users/${encodeURIComponent(u.id)}`, 'PATCH', body);
      const fresh = userRow(nu);
      row.replaceWith(fresh);
      fresh.querySelectorAll('td.row-actions button')[index]?.focus();
      toast(message(nu));
    } catch (x) {
      if (x !== SIGNED_OUT) toast(x.message);
      btn.disabled = false;
    }
  };
  const row = h('tr', {},
    h('td', {}, u.email, self ? h('span', { class: 'badge' }, 'you') : null),
    h('td', {}, u.name ?? ''),
    h('td', {}, (u.roles ?? []).join(', ')),
    h('td', {}, h('span', { class: u.disabled ? 'badge bad' : 'badge ok' }, u.disabled ? 'Disabled' : 'Active')),
    h('td', {}, timeEl(u.created_at)),
    h('td', { class: 'row-actions' },
      h('button', {
        type: 'button',
        class: 'secondary small',
        disabled: self && !u.disabled,
        title: self ? 'You cannot disable your own account here' : null,
        onclick: (e) => patch(e, { disabled: !u.disabled }, (nu) => `${nu.email} ${nu.disabled ? 'disabled' : 'enabled'}`),
      }, u.disabled ? 'Enable' : 'Disable'),
      h('button', {
        type: 'button',
        class: 'secondary small',
        // Removing one's own role would lock this session out of the dashboard.
        disabled: self && admin,
        title: self && admin ? 'You cannot remove your own administrator role here' : null,
        onclick: (e) => patch(
          e,
          { roles: admin ? (u.roles ?? []).filter((r) => r !== 'admin') : [...(u.roles ?? []), 'admin'] },
          (nu) => `${nu.email} ${(nu.roles ?? []).includes('admin') ? 'is now an administrator' : 'is no longer an administrator'}`,
        ),
      }, admin ? 'Remove admin' : 'Make admin'),
      h('button', { type: 'button', class: 'secondary small', onclick: () => resetPassword(u) }, 'Reset password')));
  return row;
}

function resetPassword(u) {
  const pw = h('input', { type: 'password', required: true, autocomplete: 'new-password', autofocus: true });
  openDialog({
    title: `Reset the password of ${u.email}`,
    body: [field('New password', pw, 'The user signs in with it from now on.')],
    confirm: 'Set password',
    run: async () => {
      await api(`users/${encodeURIComponent(u.id)}`, 'PATCH', { password: pw.value });
      toast(`Password of ${u.email} changed`);
    },
  });
}

// Logs

function viewLogs(query) {
  const err = errorBox();
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No records match.');
  const f = {
    event: h('select', {}, h('option', { value: '' }, 'All events'), EVENTS.map((e) => h('option', {}, e))),
    client_id: h('input', { spellcheck: 'false', autocomplete: 'off', placeholder: 'client_id', value: query.get('client_id') ?? '' }),
    user_id: h('input', { spellcheck: 'false', autocomplete: 'off', placeholder: 'user id', value: query.get('user_id') ?? '' }),
    since: h('input', { type: 'datetime-local' }),
    until: h('input', { type: 'datetime-local' }),
  };
  f.event.value = EVENTS.includes(query.get('event')) ? query.get('event') : '';
  const filters = () => {
    const p = new URLSearchParams();
    for (const k of ['event', 'client_id', 'user_id']) if (f[k].value.trim()) p.set(k, f[k].value.trim());
    for (const k of ['since', 'until']) {
      if (f[k].value) p.set(k, String(Math.floor(new Date(f[k].value).getTime() / 1000)));
    }
    return p;
  };
  const more = pager(async (cursor) => {
    const p = filters();
    p.set('limit', '50');
    if (cursor) p.set('cursor', cursor);
    const data = await api(`logs?${p}`);
    return [(data.logs ?? data.records ?? []).map(logRows), data.next_cursor];
  }, body, empty, err);
  const form = h('form', {
    class: 'card filters',
    onsubmit: (e) => {
      e.preventDefault();
      const p = filters();
      p.delete('since');
      p.delete('until');
      history.replaceState(null, '', `#/logs${String(p) ? `?${p}` : ''}`); // a link to these filters
      more.reload();
    },
  },
  field('Event', f.event), field('Application', f.client_id), field('User', f.user_id),
  field('Since', f.since), field('Until', f.until),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply')));
  page('Logs', form, err,
    h('table', { class: 'logs' }, h('thead', {}, h('tr', {}, ['Time', 'Event', 'Description', 'Application', 'User', 'IP', ''].map((c) => h('th', { scope: 'col' }, c)))), body),
    empty, more.btn);
  more.reload();
}

function logRows(r) {
  const bad = /failed|reused|replayed|deleted|disabled/.test(r.event);
  const detailId = nextId('log');
  const info = { id: r.id, user_agent: r.user_agent, client_id: r.client_id, user_id: r.user_id, detail: r.detail };
  const details = h('tr', { id: detailId, class: 'details', hidden: true },
    h('td', { colspan: '7' }, h('pre', {}, JSON.stringify(info, null, 2))));
  const toggle = h('button', {
    type: 'button',
    class: 'secondary small',
    'aria-expanded': 'false',
    'aria-controls': detailId,
    onclick: () => {
      details.hidden = !details.hidden;
      toggle.setAttribute('aria-expanded', String(!details.hidden));
    },
  }, 'Details');
  const row = h('tr', {},
    h('td', { class: 'nowrap' }, timeEl(r.created_at)),
    h('td', {}, h('span', { class: bad ? 'badge bad' : 'badge' }, r.event)),
    h('td', {}, r.description ?? ''),
    h('td', {}, r.client_id ? h('a', { href: `#/applications/${encodeURIComponent(r.client_id)}` }, r.application_name || r.client_id) : ''),
    // Long ids are cut short here; Details shows the whole one.
    h('td', {}, r.user_id ? h('code', { title: r.user_id }, r.user_id.length > 10 ? `${r.user_id.slice(0, 8)}…` : r.user_id) : ''),
    h('td', {}, r.ip ?? ''),
    h('td', {}, toggle));
  return [row, details];
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
  else if (parts[0] === 'logs') viewLogs(new URLSearchParams(qs));
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
