// The applications view: the list (paged) and the create form. A created application is
// handed to its settings pane (application.js) with its one-time secret.

import { SIGNED_OUT, api } from './api.js';
import { errorBox, field, h, page, showError } from './dom.js';
import { handOver } from './state.js';
import { TYPES, TYPE_LABEL } from './types.js';
import { pager } from './widgets.js';

/** #/applications: the list, and the create form on demand. */
export function viewApplications() {
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
