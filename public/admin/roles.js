// The roles view: the create form and the list (GET /api/v1/roles), with per role how many
// users hold it and which applications' access rules require it. Users are given roles on
// the Users page and applications require them in their settings; both take only roles
// that exist. `admin` is built in: it can be described, not renamed or deleted.

import { SIGNED_OUT, api } from './api.js';
import { errorBox, field, h, main, page, showError, toast } from './dom.js';
import { createCard, openDialog } from './widgets.js';

const NAME_HINT = 'Letters, digits, - _ . : (up to 64).';
const DESCRIPTION_HINT = 'What holding it means, for other administrators.';

/** #/roles: create, and per role: describe, rename, delete. */
export function viewRoles() {
  const err = errorBox();
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No roles yet.');
  /** Draws the list anew; then `focus` (a role and a button's text) gets the focus. */
  const load = async (focus) => {
    try {
      const { roles } = await api('roles');
      body.replaceChildren(...roles.map((r) => roleRow(r, load)));
      empty.hidden = roles.length > 0;
      showError(err, null);
    } catch (x) {
      if (x !== SIGNED_OUT) showError(err, x);
      return;
    }
    // Once the dialog that asked for it has closed (its opener, in the old row, is gone).
    if (focus) setTimeout(() => focusIn(body, focus));
  };

  const name = h('input', { required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '64' });
  const description = h('input', { autocomplete: 'off', maxlength: '500' });
  const create = createCard('New role', 'Create role', [
    h('div', { class: 'cols' }, field('Name', name, NAME_HINT), field('Description', description, DESCRIPTION_HINT)),
  ], async () => {
    const r = await api('roles', 'POST', { name: name.value.trim(), description: description.value.trim() });
    load();
    return `Created ${r.name}`;
  });

  page('Roles',
    h('p', { class: 'muted' }, 'Users are given roles on the Users page; an application’s access rules may require them, and the roles scope puts them in tokens.'),
    create, err,
    h('table', {}, h('thead', {}, h('tr', {}, ['Role', 'Description', 'Users', 'Required by', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))), body),
    empty);
  load();
}

/** Focuses the button labelled `button` in the row of `role`, or else the page's title. */
function focusIn(body, { role, button }) {
  const row = [...body.rows].find((tr) => tr.dataset.role === role);
  const btn = row && [...row.querySelectorAll('button')].find((b) => b.textContent === button);
  (btn ?? main.querySelector('h1'))?.focus();
}

/** The applications whose access rules name a role, as links to their pages. */
function requiredBy(clientIds) {
  if (!clientIds.length) return h('span', { class: 'muted' }, 'No application');
  return clientIds.map((id, i) => [i ? ', ' : '', h('a', { href: `#/applications/${encodeURIComponent(id)}` }, h('code', {}, id))]);
}

function roleRow(r, load) {
  const path = `roles/${encodeURIComponent(r.name)}`;
  const users = `${r.users} ${r.users === 1 ? 'user' : 'users'}`;
  const describe = () => {
    const input = h('input', { autocomplete: 'off', maxlength: '500', autofocus: true, value: r.description });
    openDialog({
      title: `Describe ${r.name}`,
      body: [field('Description', input, DESCRIPTION_HINT)],
      confirm: 'Save description',
      run: async () => {
        await api(path, 'PATCH', { description: input.value.trim() });
        toast(`Description of ${r.name} saved`);
        await load({ role: r.name, button: 'Edit description' });
      },
    });
  };
  const rename = () => {
    const input = h('input', { required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '64', autofocus: true, value: r.name });
    openDialog({
      title: `Rename ${r.name}`,
      body: [field('New name', input, `${NAME_HINT} Its ${users} and the access rules requiring it keep it under the new name; so do the tokens they get from now on.`)],
      confirm: 'Rename',
      run: async () => {
        const nr = await api(path, 'PATCH', { name: input.value.trim() });
        toast(`Renamed ${r.name} to ${nr.name}`);
        await load({ role: nr.name, button: 'Rename' });
      },
    });
  };
  const remove = () => openDialog({
    title: `Delete the role ${r.name}?`,
    body: [h('p', {}, `It is taken from its ${users}. This cannot be undone.`)],
    confirm: 'Delete',
    danger: true,
    run: async () => {
      await api(path, 'DELETE');
      toast(`Deleted the role ${r.name}`);
      await load({ role: r.name, button: 'Delete' });
    },
  });
  const action = (label, onclick) => h('button', { type: 'button', class: 'secondary small', onclick }, label);
  return h('tr', { 'data-role': r.name },
    h('td', {}, h('code', {}, r.name), r.builtin ? h('span', { class: 'badge', title: 'It opens this dashboard: it cannot be renamed or deleted' }, 'built-in') : null),
    h('td', {}, r.description),
    h('td', {}, String(r.users)),
    h('td', {}, requiredBy(r.applications ?? [])),
    h('td', { class: 'row-actions' },
      action('Edit description', describe),
      r.builtin ? null : action('Rename', rename),
      r.builtin ? null : action('Delete', remove)));
}
