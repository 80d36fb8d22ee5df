// Login throttling (issue 5): per-account and per-address locks in workerd, with the same
// answer whether or not the account exists.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  assertLoginForm,
  authorizeUrl,
  createApp,
  createUser,
  inputValues,
  pkcePair,
  randomToken,
  request,
} from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://throttle.example.com/cb';
let app;

before(async () => {
  await server.ready;
  app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
});

/** A login session in one browser: each attempt posts the form the last page rendered. */
async function loginForm() {
  const jar = new CookieJar();
  const page = await request(authorizeUrl(server, {
    response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'openid',
    state: randomToken(), code_challenge: pkcePair().challenge, code_challenge_method: 'S256',
  }), { jar });
  let hidden = assertLoginForm(await page.text());
  return async (email, password, ip = '198.51.100.10') => {
    const res = await request(new URL('/login', server.origin), {
      jar, method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': ip },
      body: new URLSearchParams({ ...hidden, email, password }),
    });
    const html = await res.text();
    if (res.status !== 303) hidden = inputValues(html);
    return { status: res.status, html, headers: res.headers };
  };
}

test('five failures lock an account, even against the right password', async () => {
  const user = await createUser(server);
  const attempt = await loginForm();
  for (let i = 0; i < 5; i++) {
    const r = await attempt(user.email, 'wrong-password');
    assert.equal(r.status, 401, `attempt ${i + 1}`);
  }
  const locked = await attempt(user.email, user.password);
  assert.equal(locked.status, 429);
  assert.match(locked.html, /Too many failed sign-in attempts/);
  assert.ok(Number(locked.headers.get('retry-after')) > 0, 'Retry-After');
  assert.equal(locked.headers.get('location'), null, 'no redirect with a code');
  assert.ok(!locked.headers.getSetCookie().some((c) => c.startsWith('oidc_session=')), 'no session');
});

test('an unknown account locks the same way (no enumeration)', async () => {
  const attempt = await loginForm();
  const ghost = `ghost-${randomToken(4).toLowerCase()}@example.com`;
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await attempt(ghost, 'whatever-password')).status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
});

test('twenty failures from one address lock it for every account', async () => {
  const attempt = await loginForm();
  const ip = '203.0.113.77';
  const tag = randomToken(4).toLowerCase();
  for (let i = 0; i < 20; i++) {
    const r = await attempt(`spray-${tag}-${i}@example.com`, 'Password1!', ip);
    assert.equal(r.status, 401, `attempt ${i + 1}`);
  }
  const user = await createUser(server);
  const blocked = await attempt(user.email, user.password, ip);
  assert.equal(blocked.status, 429, 'the address is locked, whatever the account');
});
