// Shared helpers for the integration tests: a cookie jar, HTML form scraping, the management
// API, and a driver for the authorization request + login form.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const randomToken = (n = 16) => randomBytes(n).toString('base64url');

export function pkcePair() {
  const verifier = randomToken(32);
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** Minimal cookie jar: remembers name=value from every Set-Cookie, sends them all back. */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }

  /** Records Set-Cookie headers of a response; returns the names set (or cleared) by it. */
  update(res) {
    const names = [];
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      names.push(name);
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (/^max-age$/i.test(k)) return Number(v) <= 0;
        if (/^expires$/i.test(k)) return Date.parse(v) < Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return names;
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  clone() {
    const j = new CookieJar();
    j.cookies = new Map(this.cookies);
    return j;
  }
}

/** fetch with redirect: 'manual' that sends and records the jar's cookies. */
export async function request(url, { jar, headers = {}, ...init } = {}) {
  const h = new Headers(headers);
  if (jar && jar.cookies.size) h.set('cookie', jar.header());
  const res = await fetch(url, { redirect: 'manual', ...init, headers: h });
  if (jar) res.setCookieNames = jar.update(res);
  else res.setCookieNames = res.headers.getSetCookie().map((l) => l.split('=')[0].trim());
  return res;
}

export function decodeHtml(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;/g, "'")
    .replace(/&#x0*27;/gi, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#0*47;/g, '/')
    .replace(/&amp;/g, '&');
}

/** name -> value of every <input> that has both (attribute order: name before value). */
export function inputValues(html) {
  const out = {};
  const re = /<input\b[^>]*?\bname\s*=\s*"([^"]*)"[^>]*?\bvalue\s*=\s*"([^"]*)"[^>]*>/gi;
  for (const m of html.matchAll(re)) out[decodeHtml(m[1])] = decodeHtml(m[2]);
  return out;
}

/** Asserts the HTML contains the login form described by the contract; returns its hidden values. */
export function assertLoginForm(html) {
  const form = html.match(/<form\b[^>]*>/i);
  assert.ok(form, `no <form> in login page:\n${html.slice(0, 2000)}`);
  assert.match(form[0], /\bmethod\s*=\s*"post"/i, `form method: ${form[0]}`);
  assert.match(form[0], /\baction\s*=\s*"\/login"/i, `form action: ${form[0]}`);
  assert.match(html, /<input\b[^>]*\bname\s*=\s*"email"/i, 'email input');
  assert.match(html, /<input\b[^>]*\bname\s*=\s*"password"/i, 'password input');
  const values = inputValues(html);
  assert.ok(values.csrf_token, 'hidden csrf_token input with a value');
  assert.ok(values.auth_request, 'hidden auth_request input with a value');
  return values;
}

/** Parses a Location header (relative or absolute) against the origin. */
export function locationOf(res, origin) {
  const loc = res.headers.get('location');
  assert.ok(loc, `expected a Location header (status ${res.status})`);
  return new URL(loc, origin);
}

export function isRedirect(status) {
  return status === 302 || status === 303 || status === 307;
}

/** A response read whole: { status, headers, text, json } (json undefined when it is not JSON). */
export async function readAnswer(res) {
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Management API helper bound to a server. */
export function managementApi(server) {
  return async function api(method, path, body, { token = server.adminToken } = {}) {
    const headers = { accept: 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.origin}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return readAnswer(res);
  };
}

/** Creates an application and a user; returns { app, user, password }. */
export async function createApp(server, fields) {
  const api = managementApi(server);
  const r = await api('POST', '/applications', {
    name: `app-${randomToken(4)}`,
    redirect_uris: [],
    ...fields,
  });
  assert.equal(r.status, 201, `create application: ${r.status} ${r.text}`);
  return r.json;
}

/**
 * Makes sure the roles exist (POST /roles; one made already by another test is fine): users
 * and access rules take only roles that exist.
 */
export async function ensureRoles(server, names = []) {
  const api = managementApi(server);
  for (const name of names) {
    const r = await api('POST', '/roles', { name });
    assert.ok(r.status === 201 || r.status === 409, `create role ${name}: ${r.status} ${r.text}`);
  }
}

/** Creates a user; the roles in `fields.roles` are created first when missing. */
export async function createUser(server, fields = {}) {
  const api = managementApi(server);
  await ensureRoles(server, fields.roles);
  const password = fields.password ?? `pw-${randomToken(12)}`;
  const email = fields.email ?? `user-${randomToken(6).toLowerCase()}@example.com`;
  const body = { email, password, name: fields.name ?? 'Test User' };
  if (fields.roles) body.roles = fields.roles;
  const r = await api('POST', '/users', body);
  assert.equal(r.status, 201, `create user: ${r.status} ${r.text}`);
  return { ...r.json, password };
}

/** Builds an /authorize URL for the server with the given parameters (undefined ones omitted). */
export function authorizeUrl(server, params) {
  const u = new URL('/authorize', server.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

/**
 * Follows an authorization request that must show the login form, submits the credentials and
 * returns the final redirect URL (redirect_uri?code=...). Cookies land in `jar`.
 */
export async function loginThroughForm(server, url, { jar, email, password }) {
  const page = await request(url, { jar });
  const html = await page.text();
  assert.equal(page.status, 200, `authorize should show the login page, got ${page.status}: ${html.slice(0, 500)}`);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/i);
  const hidden = assertLoginForm(html);
  const res = await request(new URL('/login', server.origin), {
    jar,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      email,
      password,
      csrf_token: hidden.csrf_token,
      auth_request: hidden.auth_request,
    }),
  });
  const body = await res.text();
  assert.equal(res.status, 303, `POST /login: ${res.status} ${body.slice(0, 500)}`);
  return locationOf(res, server.origin);
}

/** POST /token with form parameters; returns { status, headers, json }. */
export async function tokenRequest(server, params, { headers = {} } = {}) {
  const res = await fetch(`${server.origin}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  return readAnswer(res);
}

export function basicAuth(id, secret) {
  // RFC 6749 2.3.1: form-urlencode each part before base64.
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** at_hash / c_hash for RS256: base64url of the left half of SHA-256 of the ASCII value. */
export function halfHash(value) {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return b64url(digest.subarray(0, digest.length / 2));
}

/**
 * A fresh authorization code for `app` at `redirectUri`: through the login form the first
 * time (the session cookie lands in `jar`), straight from the session after that.
 * Returns { callback, code, verifier } (verifier undefined when pkce is false).
 */
export async function obtainCode(server, { app, redirectUri, jar, user, scope = 'openid', pkce = true, extra = {} }) {
  const { verifier, challenge } = pkcePair();
  const url = authorizeUrl(server, {
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: redirectUri,
    scope,
    state: randomToken(),
    code_challenge: pkce ? challenge : undefined,
    code_challenge_method: pkce ? 'S256' : undefined,
    ...extra,
  });
  let callback;
  if (!jar.cookies.size) {
    callback = await loginThroughForm(server, url, { jar, email: user.email, password: user.password });
  } else {
    const res = await request(url, { jar });
    await res.arrayBuffer();
    callback = locationOf(res, server.origin);
  }
  const code = callback.searchParams.get('code');
  assert.ok(code, `a code in ${callback}`);
  return { callback, code, verifier: pkce ? verifier : undefined };
}

/**
 * Every application, through all the pages of the management API's list (oldest first).
 * Test files share a database, so one page need not hold the applications a test made.
 */
export async function allApplications(server) {
  const api = managementApi(server);
  const apps = [];
  let cursor;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ limit: '200' });
    if (cursor) q.set('cursor', cursor);
    const r = await api('GET', `/applications?${q}`);
    assert.equal(r.status, 200, r.text);
    apps.push(...r.json.applications);
    cursor = r.json.next_cursor;
    if (!cursor) return apps;
  }
  assert.fail('the application list does not end');
}

/**
 * The newest message to `to` in the server's local mail sink (useServer({ mail: true })) whose
 * subject matches `subject`, waiting for it: the provider sends mail after its response.
 * `after`: only messages with a larger id (the count before the action). Returns
 * { id, to, subject, text, html, link(path) }, link(path) being the mailed URL to `path`.
 */
export async function readMail(server, to, { subject = /./, after = 0, timeoutMs = 10_000 } = {}) {
  const { readMessages } = await import('../../scripts/mail-sink.mjs');
  assert.ok(server.mailDir, 'the server has a mail sink (useServer({ mail: true }))');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = readMessages(server.mailDir)
      .filter((m) => m.id > after && m.to.includes(to) && subject.test(m.subject))
      .at(-1);
    if (found) {
      return {
        ...found,
        link(path) {
          const m = found.text.match(new RegExp(`https?://\\S+${path.replace(/[/.?]/g, '\\$&')}\\?token=\\S+`));
          assert.ok(m, `a link to ${path} in:\n${found.text}`);
          return new URL(m[0]);
        },
      };
    }
    assert.ok(Date.now() < deadline, `no mail to ${to} matching ${subject} within ${timeoutMs} ms`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** How many messages the server's mail sink holds (for readMail's `after`). */
export async function mailCount(server) {
  const { readMessages } = await import('../../scripts/mail-sink.mjs');
  return readMessages(server.mailDir).length;
}

/**
 * GET /api/v1/logs?`query` until `until(logs)` holds (audit records are written after the
 * response), failing after 5 s; returns the records, newest first.
 */
export async function auditRecords(server, query, until = (logs) => logs.length > 0) {
  const api = managementApi(server);
  const qs = new URLSearchParams(query).toString();
  let last;
  for (let i = 0; i < 50; i++) {
    last = await api('GET', `/logs?${qs}`);
    assert.equal(last.status, 200, last.text);
    if (until(last.json.logs)) return last.json.logs;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail(`no audit records for ${qs} as expected: ${last.text.slice(0, 2000)}`);
}

/**
 * The grant and session indexes are written after the responses: waits until the user has
 * `counts` rows in each named table (`grants`, `login_sessions`), failing after 5 s rather
 * than testing too early.
 */
export async function waitForIndex(server, userId, counts) {
  let seen;
  for (let i = 0; i < 50; i++) {
    seen = {};
    for (const table of Object.keys(counts)) {
      const [row] = await server.d1Query(`SELECT count(*) AS n FROM ${table} WHERE user_id = '${userId}'`);
      seen[table] = row.n;
    }
    if (Object.keys(counts).every((t) => seen[t] === counts[t])) return;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail(`index rows of ${userId}: ${JSON.stringify(seen)}, expected ${JSON.stringify(counts)}`);
}

/**
 * Signs `user` in to `app` through the login form of an authorization request (`scope`, PKCE)
 * in a fresh jar, allows the consent page if the application asks (a third-party one), and
 * redeems the code: { jar, tokens } (tokens: the token response's JSON).
 */
export async function tokensThroughLogin(server, { app, user, redirectUri, scope = 'openid' }) {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const jar = new CookieJar();
  const { verifier, challenge } = pkcePair();
  const url = authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: redirectUri, scope, state: randomToken(),
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  const hidden = assertLoginForm(await (await request(url, { jar })).text());
  let answer = await request(new URL('/login', server.origin), {
    jar, method: 'POST', headers: form, body: new URLSearchParams({ ...hidden, email: user.email, password: user.password }),
  });
  if (answer.status === 200) {
    const consent = await answer.text();
    assert.match(consent, /action="\/consent"/, `the consent page, not: ${consent.slice(0, 500)}`);
    answer = await request(new URL('/consent', server.origin), {
      jar, method: 'POST', headers: form, body: new URLSearchParams({ ...inputValues(consent), decision: 'allow' }),
    });
  }
  const text = await answer.text();
  assert.equal(answer.status, 303, text.slice(0, 500));
  const code = locationOf(answer, server.origin).searchParams.get('code');
  assert.ok(code, 'a code');
  const tokens = await tokenRequest(server, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: app.client_id, code_verifier: verifier,
  });
  assert.equal(tokens.status, 200, tokens.text);
  return { jar, tokens: tokens.json };
}
