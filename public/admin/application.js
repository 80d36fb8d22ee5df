// One application's pane: its credentials (the client secret shown once, rotation), a quick
// start snippet for its type (quickstart.js), its settings form (settings.js), the
// provider's endpoints and deletion.

import { SIGNED_OUT, api } from './api.js';
import { $, copyButton, errorBox, field, h, main, page, showError, timeEl, toast } from './dom.js';
import { QUICKSTART, snippet } from './quickstart.js';
import { settingsForm } from './settings.js';
import { state, takeCreated } from './state.js';
import { CONFIDENTIAL, TYPE_LABEL } from './types.js';
import { openDialog } from './widgets.js';

/** #/applications/<client_id>: credentials, settings, endpoints and deletion. */
export async function viewApplication(clientId) {
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

  const quick = h('section', { class: 'card quickstart', 'aria-labelledby': 'quickstart-title' });
  const drawQuick = () => {
    const info = QUICKSTART[app.type];
    if (!info) { quick.hidden = true; return; }
    const code = snippet(app.type, {
      issuer: state.disco.issuer,
      clientId: app.client_id,
      redirectUri: app.redirect_uris?.[0],
      tokenEndpoint: state.disco.token_endpoint,
      audience: app.allowed_audiences?.[0],
      scope: (app.allowed_scopes ?? []).join(' '),
    });
    const secretNote = CONFIDENTIAL.has(app.type)
      ? ' The client secret is not in it: set CLIENT_SECRET in the environment.'
      : '';
    quick.replaceChildren(
      h('div', { class: 'bar' }, h('h2', { id: 'quickstart-title' }, 'Quick start'),
        copyButton(() => code, 'snippet', 'Copy quick start snippet')),
      h('p', { class: 'hint' }, info.title, '.',
        info.install ? [' Install: ', h('code', {}, info.install), '.'] : [], secretNote,
        app.redirect_uris?.length ? '' : ' Add a redirect URI below: the snippet uses a placeholder.'),
      h('pre', { tabindex: '0', 'aria-label': `${info.language} snippet` }, h('code', {}, code)));
  };
  drawQuick();

  const { form, warnings } = settingsForm(app, (r) => { title.textContent = r.name; drawQuick(); });

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
    quick,
    h('div', { class: 'split' }, form, h('aside', {}, endpointBox,
      h('section', { class: 'card' }, h('h2', {}, 'Danger zone'), h('p', { class: 'hint' }, 'Deleting removes the application and its consents.'), del))));
  if (builtIn) {
    for (const el of form.elements) el.disabled = true;
    secretArea.hidden = del.parentElement.hidden = quick.hidden = true;
  }
  if (focus) title.focus();
}
