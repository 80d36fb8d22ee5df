// Composite pieces of the views: the modal dialog and the "Load more" pager. Both leave
// SIGNED_OUT alone: the sign-in screen has replaced the view by then.

import { SIGNED_OUT } from './api.js';
import { errorBox, h, showError } from './dom.js';

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
