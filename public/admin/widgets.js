// Composite pieces of the views: the modal dialog, the create form's card, the "Load more"
// pager and the role picker. They leave SIGNED_OUT alone: the sign-in screen has replaced
// the view by then.

import { SIGNED_OUT, api } from './api.js';
import { errorBox, field, h, nextId, showError } from './dom.js';

/** A modal <dialog>: `run` does the work; an error stays in the dialog, success closes it. */
export function openDialog({ title, body = [], confirm, danger, run }) {
  const opener = document.activeElement;
  const err = errorBox();
  const ok = h('button', { type: 'submit', class: danger ? 'danger' : '' }, confirm);
  const dlg = h('dialog', { 'aria-labelledby': 'dlg-title' },
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        ok.disabled = true;
        try {
          await run(dlg);
          dlg.close();
        } catch (x) {
          if (x !== SIGNED_OUT) showError(err, x);
        } finally {
          ok.disabled = false;
        }
      },
    },
    h('h2', { id: 'dlg-title' }, title),
    body, err,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', autofocus: !body.some((b) => b.querySelector?.('input')), onclick: () => dlg.close() }, 'Cancel'),
      ok)));
  // The opener hides while the dialog is open, so only one "Delete" / "Rotate" button is exposed.
  opener?.classList.add('vh');
  dlg.addEventListener('close', () => {
    dlg.remove();
    opener?.classList.remove('vh');
    if (opener?.isConnected) opener.focus();
  });
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

/** A card with the form that creates something: `run()` does it and gives what the status
 * line then says (the form is emptied); an error stays in the form. */
export function createCard(title, submit, fields, run) {
  const err = errorBox();
  const status = h('span', { class: 'saved', role: 'status' });
  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      status.textContent = '';
      try {
        const said = await run();
        form.reset();
        showError(err, null);
        status.textContent = said;
      } catch (x) {
        if (x !== SIGNED_OUT) showError(err, x);
      }
    },
  }, h('h2', {}, title), fields, err, h('div', { class: 'actions' }, h('button', { type: 'submit' }, submit), status));
  return form;
}

/** A "Load more" pager over `body`: `load(cursor)` gives [rows, next cursor]. A reload
 * (new filters) wins over any page still in flight. */
export function pager(load, body, empty, err) {
  let cursor = null;
  let seq = 0;
  const btn = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const run = async (first) => {
    const mine = ++seq;
    btn.disabled = true;
    try {
      const [rows, next] = await load(first ? null : cursor);
      if (mine !== seq) return;
      if (first) body.replaceChildren();
      body.append(...rows.flat());
      empty.hidden = body.children.length > 0;
      cursor = next;
      btn.hidden = !cursor;
      showError(err, null);
    } catch (e) {
      if (e !== SIGNED_OUT) showError(err, e);
    } finally {
      btn.disabled = false;
    }
  };
  btn.addEventListener('click', () => run(false));
  return { btn, reload: () => run(true) };
}

/**
 * A group of checkboxes named `legend`, one per role that exists (GET /api/v1/roles, loaded
 * here): users and access rules take only those. `selected` starts checked; a selected name
 * that is no role (any more) keeps a box of its own, so it is not dropped unseen.
 * `except`: roles not offered (a selected one stays); `locked`: {role: why} for boxes that
 * cannot be changed.
 * value() gives the checked names, those selected before first and in their order;
 * set(names) checks just these.
 */
export function rolePicker(legend, { selected = [], hint, except = [], locked = {} } = {}) {
  let chosen = [...selected];
  let known = null;
  let boxes = null;
  const list = h('div', { class: 'role-list' }, h('p', { class: 'muted' }, 'Loading roles…'));
  const err = errorBox();
  const hid = hint ? nextId('hint') : null;
  const group = h('fieldset', { class: 'roles', 'aria-describedby': hid },
    h('legend', {}, legend), hint && h('p', { class: 'hint intro', id: hid }, hint), list, err);
  const why = (name) => (Object.hasOwn(locked, name) ? locked[name] : null);
  const draw = () => {
    const gone = chosen.filter((n) => !known.some((r) => r.name === n))
      .map((name) => ({ name, description: 'Not a role (any more): uncheck it to save.' }));
    const roles = [...known.filter((r) => !except.includes(r.name)), ...gone];
    boxes = new Map(roles.map((r) => [r.name, h('input', { type: 'checkbox', checked: chosen.includes(r.name), disabled: why(r.name) !== null })]));
    list.replaceChildren(...(roles.length
      ? roles.map((r) => field(r.name, boxes.get(r.name), why(r.name) ?? r.description))
      : [h('p', { class: 'muted' }, 'No roles yet.')]));
  };
  api('roles').then((d) => {
    known = d.roles;
    draw();
  }, (x) => {
    if (x === SIGNED_OUT) return;
    list.replaceChildren();
    showError(err, x);
  });
  return {
    group,
    value() {
      if (!boxes) return [...chosen];
      const on = [...boxes].filter(([, box]) => box.checked).map(([name]) => name);
      const kept = chosen.filter((n) => on.includes(n) || except.includes(n));
      return [...kept, ...on.filter((n) => !chosen.includes(n))];
    },
    set(names) {
      chosen = [...names];
      if (known) draw();
    },
  };
}
