// The users view: the create form, a search over email and name (paged), and per user
// the actions of its row. Roles are chosen among those that exist (the Roles page makes
// them; applications' access rules may require them); `admin` opens this dashboard.

import { SIGNED_OUT, api } from './api.js';
import { errorBox, field, h, page, timeEl, toast } from './dom.js';
import { state } from './state.js';
import { createCard, openDialog, pager, rolePicker } from './widgets.js';

/** #/users: create, search, and per user: disable/enable, admin role, roles, new password. */
export function viewUsers() {
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
  // The administrator role has a checkbox of its own.
  const roles = rolePicker('Roles', {
    except: ['admin'],
    hint: ['Applications’ access rules may require them. New ones are made on the ', h('a', { href: '#/roles' }, 'Roles'), ' page.'],
  });
  const create = createCard('New user', 'Create user', [
    h('div', { class: 'cols' }, field('Email', f.email), field('Password', f.password), field('Name', f.name)),
    roles.group,
    field('Administrator', f.admin, 'Can sign in to this dashboard and use the management API.'),
  ], async () => {
    const body = { email: f.email.value.trim(), password: f.password.value };
    if (f.name.value.trim()) body.name = f.name.value.trim();
    const chosen = roles.value();
    if (f.admin.checked) chosen.push('admin');
    if (chosen.length) body.roles = chosen;
    const u = await api('users', 'POST', body);
    more.reload();
    return `Created ${u.email}`;
  });

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
      h('button', { type: 'button', class: 'secondary small', onclick: () => editRoles(u, row) }, 'Edit roles'),
      h('button', { type: 'button', class: 'secondary small', onclick: () => resetPassword(u) }, 'Reset password')));
  return row;
}

/** The roles of `u`, chosen among those that exist; `row` is replaced by the updated user's. */
function editRoles(u, row) {
  // As with "Remove admin": one's own role would lock this session out of the dashboard.
  const ownAdmin = u.id === state.session?.sub && (u.roles ?? []).includes('admin');
  const picker = rolePicker('Roles', {
    selected: u.roles ?? [],
    hint: 'The admin role opens this dashboard; applications’ access rules may require the others. New roles are made on the Roles page.',
    locked: ownAdmin ? { admin: 'You cannot remove your own administrator role here.' } : {},
  });
  openDialog({
    title: `Roles of ${u.email}`,
    body: [picker.group],
    confirm: 'Save roles',
    run: async () => {
      const roles = picker.value();
      if (ownAdmin && !roles.includes('admin')) {
        throw new Error('You cannot remove your own administrator role here: keep admin checked.');
      }
      const nu = await api(`users/${encodeURIComponent(u.id)}`, 'PATCH', { roles });
      const fresh = userRow(nu);
      row.replaceWith(fresh);
      // Once the dialog has closed (its opener, in the old row, is gone).
      setTimeout(() => [...fresh.querySelectorAll('td.row-actions button')].find((b) => b.textContent === 'Edit roles')?.focus());
      toast(`Roles of ${nu.email}: ${(nu.roles ?? []).join(', ') || 'none'}`);
    },
  });
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
