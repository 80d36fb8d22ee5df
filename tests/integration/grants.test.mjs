// Grants in Durable Objects (issue 15): every way a grant ends reaches its object at once,
// and when the objects cannot be reached the token endpoint says so and spends nothing.
// Parallel redemptions and refreshes are in storage.test.mjs and refresh.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { REPO_ROOT, startServer, useServer } from '../harness/index.mjs';
import { CookieJar, createApp, createUser, managementApi, obtainCode, tokenRequest, waitForIndex } from './helpers.mjs';

const server = useServer();
const REDIRECT = 'https://grants.example.com/cb';

async function refreshable(srv, app, user, jar = new CookieJar()) {
  const { code, verifier } = await obtainCode(srv, { app, redirectUri: REDIRECT, jar, user, scope: 'openid offline_access' });
  const redeem = () => tokenRequest(srv, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
  });
  const t = await redeem();
  assert.equal(t.status, 200, t.text);
  assert.ok(t.json.refresh_token);
  return { tokens: t.json, redeem };
}

const refresh = (srv, app, token) => tokenRequest(srv, {
  grant_type: 'refresh_token', refresh_token: token, client_id: app.client_id,
});

const userinfo = (srv, token) => fetch(`${srv.origin}/userinfo`, { headers: { authorization: `Bearer ${token}` } });

test('a replayed code revokes the refresh and access tokens its first use gave out', async () => {
  await server.ready;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server);
  const { tokens, redeem } = await refreshable(server, app, user);
  assert.equal((await userinfo(server, tokens.access_token)).status, 200);
  const replay = await redeem();
  assert.equal(replay.status, 400, replay.text);
  assert.equal(replay.json.error, 'invalid_grant');
  const r = await refresh(server, app, tokens.refresh_token);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error, 'invalid_grant');
  // RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously issued based on
  // that authorization code": userinfo asks the grant, so the access token ends too.
  const info = await userinfo(server, tokens.access_token);
  assert.equal(info.status, 401);
  assert.match(info.headers.get('www-authenticate') ?? '', /invalid_token/);
});

test('revoking a refresh token ends the grant; an unrelated grant of the same user lives on', async () => {
  await server.ready;
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server);
  const jar = new CookieJar();
  const a = await refreshable(server, app, user, jar);
  const b = await refreshable(server, app, user, jar);
  const revoked = await fetch(`${server.origin}/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: a.tokens.refresh_token, client_id: app.client_id }),
  });
  assert.equal(revoked.status, 200, await revoked.text());
  assert.equal((await refresh(server, app, a.tokens.refresh_token)).status, 400);
  assert.equal((await refresh(server, app, b.tokens.refresh_token)).status, 200);
});

test('disabling a user ends every grant of theirs, found through the index', async () => {
  await server.ready;
  const api = managementApi(server);
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server);
  const jar = new CookieJar();
  const grants = [await refreshable(server, app, user, jar), await refreshable(server, app, user, jar)];
  await waitForIndex(server, user.id, { grants: 2 });
  assert.equal((await api('PATCH', `/users/${user.id}`, { disabled: true })).status, 200);
  await api('PATCH', `/users/${user.id}`, { disabled: false });
  // Enabled again, the user must sign in afresh: the old grants stay ended.
  for (const g of grants) {
    const r = await refresh(server, app, g.tokens.refresh_token);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_grant');
  }
});

test('an administrator\'s change of name reaches userinfo and the codes of existing sessions', async () => {
  await server.ready;
  const api = managementApi(server);
  const app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT] });
  const user = await createUser(server);
  const jar = new CookieJar();
  const first = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid profile offline_access' });
  const t = await tokenRequest(server, {
    grant_type: 'authorization_code', code: first.code, redirect_uri: REDIRECT, code_verifier: first.verifier, client_id: app.client_id,
  });
  assert.equal(t.status, 200, t.text);
  await waitForIndex(server, user.id, { grants: 1, login_sessions: 1 });
  const renamed = await api('PATCH', `/users/${user.id}`, { name: 'Grace Renamed' });
  assert.equal(renamed.status, 200, renamed.text);
  const info = await (await userinfo(server, t.json.access_token)).json();
  assert.equal(info.name, 'Grace Renamed', JSON.stringify(info));
  const second = await obtainCode(server, { app, redirectUri: REDIRECT, jar, user, scope: 'openid profile' });
  const t2 = await tokenRequest(server, {
    grant_type: 'authorization_code', code: second.code, redirect_uri: REDIRECT, code_verifier: second.verifier, client_id: app.client_id,
  });
  const id = JSON.parse(Buffer.from(t2.json.id_token.split('.')[1], 'base64url'));
  assert.equal(id.name, 'Grace Renamed');
});

test('with the grant objects out of reach, a code exchange is temporarily_unavailable and the code survives', async () => {
  // A wrangler config like wrangler.toml whose GRANTS binding points at a Worker that does
  // not exist, run on a database a healthy server then takes over.
  const config = `.wrangler-grants-down-${process.pid}.toml`;
  const original = await readFile(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const broken = original.replace(
    /name = "GRANTS"\nclass_name = "GrantObject"/,
    'name = "GRANTS"\nclass_name = "GrantObject"\nscript_name = "edge-oidc-no-such-worker"',
  );
  assert.notEqual(broken, original, 'the GRANTS binding was rebound');
  await writeFile(join(REPO_ROOT, config), broken);
  const stateDir = await mkdtemp(join(tmpdir(), 'oidc-grants-down-'));
  let down;
  let healthy;
  try {
    down = await startServer({ config, stateDir });
    const app = await createApp(down, { type: 'spa', redirect_uris: [REDIRECT] });
    const user = await createUser(down);
    const { code, verifier } = await obtainCode(down, { app, redirectUri: REDIRECT, jar: new CookieJar(), user, scope: 'openid offline_access' });
    const exchange = (srv) => tokenRequest(srv, {
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: app.client_id,
    });
    const failed = await exchange(down);
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.json.error, 'temporarily_unavailable');
    assert.ok(failed.json.error_description);
    assert.doesNotMatch(failed.json.error_description, /edge-oidc-no-such-worker|Durable/i, 'no internals');
    const { adminToken, keySecret } = down;
    await down.stop();
    down = undefined;

    // The same database and secret (codes are sealed under it), the grant objects back:
    // the refused code was not spent, so it redeems now (it lives 60 seconds).
    healthy = await startServer({ stateDir, adminToken, keySecret, prepare: 'none' });
    const ok = await exchange(healthy);
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json.refresh_token);
  } finally {
    await down?.stop();
    await healthy?.stop();
    await rm(join(REPO_ROOT, config), { force: true });
    await rm(stateDir, { recursive: true, force: true });
  }
});
