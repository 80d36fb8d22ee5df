// The audit log (issue 7) in workerd: what logins, token requests and management actions
// record; the filters, cursor pagination and JSON-lines export of GET /api/v1/logs; and the
// retention the daily cron trigger enforces. Records are written after the response
// (ctx.waitUntil), so reads poll briefly until they appear.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  assertLoginForm,
  authorizeUrl,
  createApp,
  createUser,
  managementApi,
  obtainCode,
  request,
  tokenRequest,
  randomToken,
} from './helpers.mjs';

// A server of its own: the retention test checks that no key was ever rotated in its database,
// and its cron run deletes old records of the whole database.
const server = useServer({ vars: { AUDIT_RETENTION_DAYS: '30' }, isolated: true });
const REDIRECT = 'https://audit.example.com/cb';
const AGENT = 'audit-test/1.0 (integration)';
let api;
let app;
let user;

before(async () => {
  await server.ready;
  api = managementApi(server);
  app = await createApp(server, { name: 'Audited SPA', type: 'spa', redirect_uris: [REDIRECT] });
  user = await createUser(server, { password: 'correct horse battery staple 7' });
});

/** GET /api/v1/logs with `query`; retries until `until(json)` holds (waitUntil writes). */
async function logs(query, until = () => true) {
  const qs = new URLSearchParams(query).toString();
  let last;
  for (let i = 0; i < 50; i++) {
    last = await api('GET', `/logs?${qs}`);
    assert.equal(last.status, 200, last.text);
    if (until(last.json)) return last.json;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the log never satisfied the condition for ${qs}: ${last.text.slice(0, 2000)}`);
}

/** Posts the login form once with `password`; returns the response. */
async function attemptLogin(email, password) {
  const jar = new CookieJar();
  const url = authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: randomToken(), code_challenge: 'c'.repeat(43), code_challenge_method: 'S256',
  });
  const page = await request(url, { jar, headers: { 'user-agent': AGENT } });
  const hidden = assertLoginForm(await page.text());
  const res = await request(`${server.origin}/login`, {
    jar,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': AGENT },
    body: new URLSearchParams({ email, password, csrf_token: hidden.csrf_token, auth_request: hidden.auth_request }),
  });
  await res.arrayBuffer();
  return res;
}

test('failed and successful logins are recorded with reason, application, user and agent', async () => {
  assert.equal((await attemptLogin(user.email, 'not the password')).status, 401);
  assert.equal((await attemptLogin('nobody@audit.example.com', 'whatever it is')).status, 401);
  assert.equal((await attemptLogin(user.email, user.password)).status, 303);

  const { logs: records } = await logs(
    { client_id: app.client_id },
    (j) => j.logs.filter((r) => r.event.startsWith('login.')).length >= 3,
  );
  const logins = records.filter((r) => r.event.startsWith('login.'));
  // Newest first.
  assert.deepEqual(logins.map((r) => r.event), ['login.succeeded', 'login.failed', 'login.failed']);
  const [ok, unknown, wrong] = logins;
  assert.equal(ok.user_id, user.id);
  assert.equal(wrong.detail.reason, 'wrong_password');
  assert.equal(wrong.detail.email, user.email);
  assert.equal(wrong.user_id, user.id, 'a wrong password is recorded against the account (issue 18)');
  assert.equal(unknown.detail.reason, 'unknown_user');
  assert.equal(unknown.user_id, null);
  for (const r of logins) {
    assert.equal(r.client_id, app.client_id);
    assert.equal(r.application_name, 'Audited SPA');
    assert.equal(r.user_agent, AGENT);
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(typeof r.created_at, 'number');
    assert.ok(!JSON.stringify(r).includes(user.password), 'no password in a record');
  }
  assert.ok(ok.id > wrong.id, 'ids sort in the order things happened');
});

test('token issuance, code replay and failed client authentication are recorded', async () => {
  const jar = new CookieJar();
  const { code, verifier } = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user });
  const redeem = () => tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  const t = await redeem();
  assert.equal(t.status, 200, t.text);
  assert.equal((await redeem()).status, 400);
  const wrongClient = await tokenRequest(server, {
    grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, client_id: 'no-such-client',
  });
  assert.equal(wrongClient.status, 401);

  const issued = await logs({ event: 'token.issued', user_id: user.id }, (j) => j.logs.length >= 1);
  assert.ok(issued.logs.every((r) => r.event === 'token.issued' && r.user_id === user.id));
  assert.equal(issued.logs[0].detail.grant_type, 'authorization_code');
  assert.equal(issued.logs[0].client_id, app.client_id);
  const replay = await logs({ event: 'code.replayed' }, (j) => j.logs.length >= 1);
  assert.equal(replay.logs[0].client_id, app.client_id);
  const auth = await logs({ event: 'client_auth.failed', client_id: 'no-such-client' }, (j) => j.logs.length >= 1);
  assert.equal(auth.logs[0].application_name, null);

  const all = JSON.stringify((await logs({ limit: '1000' })).logs);
  for (const secret of [code, verifier, t.json.access_token, t.json.id_token, user.password]) {
    assert.ok(!all.includes(secret), 'no code, verifier, token or password in the log');
  }
});

test('management actions are recorded without the secrets they return', async () => {
  const created = await createApp(server, { name: 'Audited Web', type: 'traditional', redirect_uris: [REDIRECT] });
  const rotated = await api('POST', `/applications/${created.client_id}/rotate-secret`);
  assert.equal(rotated.status, 200, rotated.text);
  assert.equal((await api('PATCH', `/applications/${created.client_id}`, { description: 'changed' })).status, 200);
  assert.equal((await api('DELETE', `/applications/${created.client_id}`)).status, 204);

  const { logs: records } = await logs({ client_id: created.client_id }, (j) => j.logs.length >= 4);
  assert.deepEqual(records.map((r) => r.event), [
    'application.deleted', 'application.updated', 'application.secret_rotated', 'application.created',
  ]);
  assert.equal(records.at(-1).application_name, 'Audited Web');
  assert.ok(records.every((r) => r.detail.by === 'admin_token'), 'done with ADMIN_TOKEN');
  const text = JSON.stringify(records);
  assert.ok(!text.includes(created.client_secret) && !text.includes(rotated.json.client_secret));
  const users = await logs({ event: 'user.created', user_id: user.id }, (j) => j.logs.length === 1);
  assert.equal(users.logs[0].description, 'User created');
});

test('filters combine, time ranges bound, and the cursor pages through without gaps or repeats', async () => {
  const everything = (await logs({ limit: '1000' })).logs;
  assert.ok(everything.length >= 10, `enough records to page: ${everything.length}`);
  const seen = [];
  let cursor;
  let pages = 0;
  do {
    const page = await logs(cursor ? { limit: '3', cursor } : { limit: '3' });
    assert.ok(page.logs.length <= 3);
    seen.push(...page.logs.map((r) => r.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor && pages < 100);
  assert.deepEqual(seen, everything.map((r) => r.id), 'pages in order, none lost, none twice');

  const newest = everything[0].created_at;
  const future = await logs({ since: String(newest + 3600) });
  assert.equal(future.logs.length, 0);
  const iso = new Date((newest + 1) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const untilNow = await logs({ until: iso, limit: '1000' });
  assert.equal(untilNow.logs.length, everything.length, 'until (RFC 3339) is exclusive and after everything');
  const failedHere = await logs({ event: 'login.failed', client_id: app.client_id });
  assert.equal(failedHere.logs.length, 2);

  for (const [q, why] of [
    [{ event: 'nonsense' }, 'unknown event'],
    [{ limit: '0' }, 'limit'],
    [{ since: 'last week' }, 'time'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ format: 'xml' }, 'format'],
  ]) {
    const r = await api('GET', `/logs?${new URLSearchParams(q)}`);
    assert.equal(r.status, 400, why);
    assert.equal(r.json.error, 'invalid_request');
    assert.ok(r.json.error_description, why);
  }
  const anonymous = await api('GET', '/logs', undefined, { token: null });
  assert.equal(anonymous.status, 401);
});

test('JSON-lines export pages by the Link header', async () => {
  const res = await fetch(`${server.origin}/api/v1/logs?format=jsonl&limit=2`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /application\/x-ndjson/);
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  const link = res.headers.get('link');
  assert.match(link, /rel="next"/);
  const next = new URL(link.match(/<([^>]+)>/)[1], server.origin);
  assert.equal(next.searchParams.get('format'), 'jsonl');
  const res2 = await fetch(`${server.origin}${next.pathname}${next.search}`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  const lines2 = (await res2.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines2.length >= 1);
  assert.ok(lines2[0].id < lines[1].id, 'the next page continues further back');
});

test('the daily trigger deletes records older than the retention and keeps the rest', async () => {
  const now = Math.floor(Date.now() / 1000);
  const day = 24 * 3600;
  await server.d1Query(
    `INSERT INTO audit_log (id, created_at, event, description, detail) VALUES
     ('0000000000001aaold', ${now - 31 * day}, 'logout', 'old', '{}'),
     ('0000000000002aakept', ${now - 29 * day}, 'logout', 'recent enough', '{}')`,
  );
  const before = await server.d1Query('SELECT count(*) AS n FROM audit_log');
  const res = await fetch(`${server.origin}/__scheduled?cron=${encodeURIComponent('41 4 * * *')}`);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  const left = await server.d1Query("SELECT id FROM audit_log WHERE description IN ('old', 'recent enough')");
  assert.deepEqual(left.map((r) => r.id), ['0000000000002aakept']);
  const after = await server.d1Query('SELECT count(*) AS n FROM audit_log');
  assert.equal(after[0].n, before[0].n - 1, 'only the old record went');
  // The daily trigger does not rotate keys; only the weekly one does.
  const keys = await api('GET', '/keys');
  assert.ok(!keys.json.keys.some((k) => k.status === 'retired'), 'no key was rotated');
});

// Issue 17, active users (Auth0's count): distinct users who logged in to an application or
// had tokens issued for it, per UTC day or month, from the audit records alone.
test('active users per application and day or month', async () => {
  const counted = await createApp(server, { name: 'Counted SPA', type: 'spa', redirect_uris: [REDIRECT] });
  const people = [await createUser(server), await createUser(server)];
  for (const person of [...people, people[0]]) {
    const { code, verifier } = await obtainCode(server, { app: counted, redirectUri: REDIRECT, jar: new CookieJar(), user: person });
    const t = await tokenRequest(server, {
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: counted.client_id,
    });
    assert.equal(t.status, 200, t.text);
  }
  const today = new Date().toISOString().slice(0, 10);
  let rows;
  for (let i = 0; i < 50; i++) { // the records are written after the responses
    const r = await api('GET', `/stats/active-users?client_id=${counted.client_id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.period, 'day');
    rows = r.json.rows;
    if (rows[0]?.active_users === 2) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.deepEqual(rows, [{ client_id: counted.client_id, period: today, active_users: 2 }], 'two people, one of them twice');
  const month = await api('GET', '/stats/active-users?period=month');
  assert.ok(month.json.rows.some((r) => r.client_id === counted.client_id && r.period === today.slice(0, 7) && r.active_users === 2));
  const bad = await api('GET', '/stats/active-users?period=week');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_description, 'period: day or month');
});
