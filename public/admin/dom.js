// Small DOM helpers for the dashboard's views: element creation, labelled fields, error
// boxes, the toast and copy-to-clipboard. No state is shared: the id counter and the
// toast's timer are private to this module.

export const $ = (id) => document.getElementById(id);

/** The page's <main>, which every view replaces the children of. */
export const main = $('main');

/** Creates an element. Props: on* listeners; value/checked/textContent as properties;
 * everything else as attributes (true: present, false/null: absent). */
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') value = v;
    else if (k === 'checked' || k === 'textContent') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...kids.flat(9).filter((k) => k != null && k !== false));
  if (value !== undefined) el.value = value;
  return el;
}

let uid = 0;
/** A fresh element id: f1, f2, ... (or with another prefix). */
export const nextId = (p = 'f') => `${p}${++uid}`;

/** A labelled control with an optional hint (linked with aria-describedby). */
export function field(label, control, hint) {
  control.id ||= nextId();
  const kids = [h('label', { for: control.id }, label)];
  if (control.type === 'checkbox' || control.type === 'radio') kids.unshift(control);
  else kids.push(control);
  if (hint) {
    const hid = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hid);
    kids.push(h('p', { class: 'hint', id: hid }, hint));
  }
  return h('div', { class: control.type === 'checkbox' ? 'check' : 'field' }, kids);
}

export const errorBox = () => h('p', { class: 'error', role: 'alert', hidden: true });
export function showError(box, e) {
  box.textContent = e ? (e.message ?? String(e)) : '';
  box.hidden = !e;
}

let toastTimer;
export function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.classList.add('on');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('on'), 2500);
}

async function copy(text, what) {
  const back = document.activeElement;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const t = h('textarea', { class: 'sr', readonly: true, value: text });
    document.body.append(t);
    t.select();
    document.execCommand('copy');
    t.remove();
    back?.focus();
  }
  toast(`Copied ${what}`);
}

export const copyButton = (text, what, label) =>
  h('button', { type: 'button', class: 'secondary small', 'aria-label': label, onclick: () => copy(text(), what) }, 'Copy');

export const lines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);
/** A list typed on one line: entries separated by commas and/or spaces. */
export const words = (text) => text.split(/[\s,]+/).filter(Boolean);
export const timeEl = (secs) => h('time', { datetime: new Date(secs * 1000).toISOString() }, new Date(secs * 1000).toLocaleString());

/** Shows a view: its <h1> (focusable, for the router) and the rest. */
export function page(title, ...kids) {
  main.replaceChildren(h('h1', { tabindex: '-1' }, title), ...kids);
}
