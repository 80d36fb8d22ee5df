// The audit log view: filters (kept in the address, so a filtered view can be linked to),
// the records (paged) and each one's details.

import { api } from './api.js';
import { errorBox, field, h, nextId, page, timeEl } from './dom.js';
import { pager } from './widgets.js';

// The event names of src/oidc/audit.rs.
const EVENTS = [
  'login.succeeded', 'login.failed', 'login.access_refused', 'logout', 'consent.granted', 'consent.revoked',
  'token.issued', 'refresh_token.reused', 'code.replayed', 'client_auth.failed',
  'application.created', 'application.updated', 'application.deleted',
  'application.secret_rotated', 'user.created', 'user.updated', 'user.disabled',
  'role.created', 'role.updated', 'role.deleted', 'key.rotated',
  'signup', 'email.verified', 'password.reset_requested', 'password.changed', 'sessions.revoked',
];

/** #/logs?event=&client_id=&user_id=: the audit log, filtered, newest first. */
export function viewLogs(query) {
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
