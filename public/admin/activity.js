// The activity view: active users per application (GET /api/v1/stats/active-users, Auth0's
// count: users who logged in or got tokens), per day (the last 30) or month (the last 12).
// A bar chart per application and a table across them; no chart library: the bars are
// elements sized from script (CSSOM, which the page's CSP allows).

import { SIGNED_OUT, api } from './api.js';
import { errorBox, field, h, page, showError } from './dom.js';

/** The periods the chart shows, oldest first, ending with the current one (UTC). */
function periods(period) {
  const out = [];
  const now = new Date();
  for (let i = period === 'day' ? 29 : 11; i >= 0; i--) {
    const d = period === 'day'
      ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - i))
      : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
    out.push(d.toISOString().slice(0, period === 'day' ? 10 : 7));
  }
  return out;
}

function chart(name, keys, counts) {
  const peak = Math.max(1, ...counts.values());
  const bars = keys.map((k) => {
    const n = counts.get(k) ?? 0;
    const bar = h('span', { class: 'col', title: `${k}: ${n}` });
    bar.style.height = `${Math.round((n / peak) * 100)}%`;
    return h('li', { 'aria-label': `${k}: ${n} active ${n === 1 ? 'user' : 'users'}` }, bar);
  });
  return h('figure', { class: 'card chart' },
    h('figcaption', {}, h('strong', {}, name), h('span', { class: 'muted' }, ` peak ${peak}`)),
    h('ol', { class: 'bars' }, bars),
    h('div', { class: 'axis muted' }, h('span', {}, keys[0]), h('span', {}, keys[keys.length - 1])));
}

/** #/activity: active users per application. */
export function viewActivity() {
  const err = errorBox();
  const select = h('select', {}, h('option', { value: 'day' }, 'Day (last 30)'), h('option', { value: 'month' }, 'Month (last 12)'));
  const charts = h('div', { class: 'charts' });
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'Nobody has signed in yet in this window.');
  const draw = async () => {
    const period = select.value;
    try {
      const [stats, apps] = await Promise.all([
        api(`stats/active-users?period=${period}`),
        api('applications?limit=200'),
      ]);
      const names = new Map(apps.applications.map((a) => [a.client_id, a.name]));
      const byApp = new Map();
      for (const r of stats.rows) {
        if (!byApp.has(r.client_id)) byApp.set(r.client_id, new Map());
        byApp.get(r.client_id).set(r.period, r.active_users);
      }
      const keys = periods(period);
      const current = keys[keys.length - 1];
      const ordered = [...byApp].sort((a, b) => Math.max(...b[1].values()) - Math.max(...a[1].values()));
      charts.replaceChildren(...ordered.map(([id, counts]) => chart(names.get(id) ?? id, keys, counts)));
      body.replaceChildren(...ordered.map(([id, counts]) => {
        const [peakKey, peak] = [...counts].sort((a, b) => b[1] - a[1])[0];
        return h('tr', {},
          h('td', {}, h('a', { href: `#/applications/${encodeURIComponent(id)}` }, names.get(id) ?? id)),
          h('td', {}, String(counts.get(current) ?? 0)),
          h('td', {}, `${peak} (${peakKey})`),
          h('td', {}, String(counts.size)));
      }));
      empty.hidden = byApp.size > 0;
      showError(err, null);
    } catch (x) {
      if (x !== SIGNED_OUT) showError(err, x);
    }
  };
  select.addEventListener('change', draw);
  page('Active users',
    h('p', { class: 'muted' }, 'Distinct users who signed in to an application or got tokens for it, per UTC day or month, counted from the audit log.'),
    h('div', { class: 'bar' }, field('Period', select)),
    err,
    h('table', {}, h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Application'), h('th', { scope: 'col' }, 'This period'),
      h('th', { scope: 'col' }, 'Peak'), h('th', { scope: 'col' }, 'Periods with activity'))), body),
    empty, charts);
  draw();
}
