// The settings form of one application (in its pane, application.js): what the management
// API's PATCH takes, and the warnings it answers with.

import { SIGNED_OUT, api } from './api.js';
import { errorBox, field, h, lines, showError, words } from './dom.js';
import { CONFIDENTIAL, GRANTS, GRANT_LABEL } from './types.js';
import { rolePicker } from './widgets.js';

/** The form for `app`, which a save updates in place, and the warnings box the pane shows
 * above it. onSaved(r) gets the PATCH response. */
export function settingsForm(app, onSaved) {
  const id = encodeURIComponent(app.client_id);
  const confidential = CONFIDENTIAL.has(app.type);
  const ts = app.token_settings ?? {};
  // Access rules are checked when a user signs in (and at refresh): an application that can
  // only use client credentials has no users to check.
  const hasUsers = GRANTS[app.type].includes('authorization_code');
  const f = {
    name: h('input', { required: true, value: app.name, maxlength: '200' }),
    description: h('textarea', { rows: '2', value: app.description ?? '' }),
    home_url: h('input', { type: 'url', value: app.home_url ?? '', placeholder: 'https://app.example.com' }),
    redirect_uris: h('textarea', { rows: '3', spellcheck: 'false', value: (app.redirect_uris ?? []).join('\n') }),
    post_logout_redirect_uris: h('textarea', { rows: '2', spellcheck: 'false', value: (app.post_logout_redirect_uris ?? []).join('\n') }),
    allowed_origins: h('textarea', { rows: '2', spellcheck: 'false', value: (app.allowed_origins ?? []).join('\n') }),
    logo_uri: h('input', { type: 'url', spellcheck: 'false', value: app.logo_uri ?? '', placeholder: 'https://app.example.com/logo.png' }),
    policy_uri: h('input', { type: 'url', spellcheck: 'false', value: app.policy_uri ?? '' }),
    tos_uri: h('input', { type: 'url', spellcheck: 'false', value: app.tos_uri ?? '' }),
    backchannel_logout_uri: h('input', { type: 'url', spellcheck: 'false', value: app.backchannel_logout_uri ?? '', placeholder: 'https://app.example.com/backchannel-logout' }),
    cors_from_redirect_uris: h('input', { type: 'checkbox', checked: !!app.cors_from_redirect_uris }),
    first_party: h('input', { type: 'checkbox', checked: !!app.first_party }),
    allow_signup: h('input', { type: 'checkbox', checked: app.allow_signup !== false }),
    id_token_ttl: h('input', { type: 'number', min: '60', max: '86400', required: true, value: ts.id_token_ttl }),
    access_token_ttl: h('input', { type: 'number', min: '60', max: '86400', required: true, value: ts.access_token_ttl }),
    refresh_token_ttl_days: h('input', { type: 'number', min: '1', max: '365', required: true, value: ts.refresh_token_ttl_days }),
    always_issue_refresh_token: h('input', { type: 'checkbox', checked: !!ts.always_issue_refresh_token }),
    rotate_refresh_token: h('input', { type: 'checkbox', checked: !!ts.rotate_refresh_token }),
    alg: h('select', {}, ['RS256', 'ES256', 'EdDSA'].map((a) => h('option', {}, a))),
    auth: h('select', {}, ['client_secret_basic', 'client_secret_post'].map((a) => h('option', {}, a))),
    audiences: h('textarea', { rows: '2', spellcheck: 'false', value: (app.allowed_audiences ?? []).join('\n') }),
    scopes: h('input', { spellcheck: 'false', value: (app.allowed_scopes ?? []).join(' ') }),
    rule_countries: h('input', { spellcheck: 'false', autocomplete: 'off', placeholder: 'Any country' }),
    rule_email_domains: h('input', { spellcheck: 'false', autocomplete: 'off', placeholder: 'Any email domain' }),
  };
  const ruleRoles = hasUsers && rolePicker('Required roles', {
    hint: 'The user needs any one of the roles checked (given on the Users page); none checked: any role.',
  });
  // Shown as the API has them (after a save: countries upper-cased, domains lower-cased).
  const drawRules = (rules) => {
    if (ruleRoles) ruleRoles.set(rules?.roles ?? []);
    f.rule_countries.value = (rules?.countries ?? []).join(', ');
    f.rule_email_domains.value = (rules?.email_domains ?? []).join(', ');
  };
  drawRules(app.access_rules);
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
        backchannel_logout_uri: f.backchannel_logout_uri.value.trim() || null,
        logo_uri: f.logo_uri.value.trim() || null,
        policy_uri: f.policy_uri.value.trim() || null,
        tos_uri: f.tos_uri.value.trim() || null,
        cors_from_redirect_uris: f.cors_from_redirect_uris.checked,
        first_party: f.first_party.checked,
        allow_signup: f.allow_signup.checked,
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
      if (hasUsers) {
        body.access_rules = {
          roles: ruleRoles.value(),
          countries: words(f.rule_countries.value),
          email_domains: words(f.rule_email_domains.value),
        };
      }
      if (hasCc()) {
        body.allowed_audiences = lines(f.audiences.value);
        body.allowed_scopes = f.scopes.value.split(/\s+/).filter(Boolean);
      }
      const save = form.querySelector('button[type=submit]');
      save.disabled = true;
      try {
        const r = await api(`applications/${id}`, 'PATCH', body);
        Object.assign(app, r);
        onSaved(r);
        drawWarnings(r.warnings);
        if (hasUsers) drawRules(r.access_rules);
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
  h('fieldset', {}, h('legend', {}, 'Branding'),
    field('Logo URL', f.logo_uri, 'Shown above the login and consent pages (https).'),
    field('Privacy policy URL', f.policy_uri, 'Linked from the login and consent pages (https).'),
    field('Terms of service URL', f.tos_uri, 'Linked from the login and consent pages (https).')),
  h('fieldset', {}, h('legend', {}, 'URIs'),
    field('Redirect URIs', f.redirect_uris, redirectHint),
    field('Post-logout redirect URIs', f.post_logout_redirect_uris, 'Where users may be sent after logout. One per line.'),
    field('Back-channel logout URI', f.backchannel_logout_uri, 'Receives a logout token (a POST) when a session that signed in to this application ends. https.'),
    field('Allowed origins', f.allowed_origins, 'Browser origins that may call the token and userinfo endpoints (CORS). One per line.'),
    field('Same as redirect URIs', f.cors_from_redirect_uris, 'Also allow the origins of the redirect URIs.')),
  hasUsers && h('fieldset', { class: 'access' }, h('legend', {}, 'Who may use this application'),
    h('p', { class: 'hint intro' }, 'An empty list admits everyone; a user must pass every list that is set. Anyone else sees a page saying they may not use this application.'),
    ruleRoles.group,
    field('Allowed countries', f.rule_countries, 'Two-letter codes (ISO 3166-1) separated by commas or spaces, e.g. US, CA: the country Cloudflare sees the sign-in come from. Not checked at refresh.'),
    field('Allowed email domains', f.rule_email_domains, 'The user’s email address is at one of these domains (exactly), separated by commas or spaces, e.g. example.com.')),
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
  field('Offer sign-up', f.allow_signup, 'Its login page links to "Create an account" when the provider has sign-up on (SIGNUP_ENABLED) and can send mail.'),
  err,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save'), status));
  return { form, warnings };
}
