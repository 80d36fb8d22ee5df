// The dashboard's Quick start snippets (public/admin/quickstart.js, issue 17), run as written
// against the provider: the module is imported in Node, the snippet for a real application
// (made through the management API) is written to a temp .mjs file and imported, so its
// discovery runs; its exported login() gives the authorization URL, the login is driven
// with the usual helpers, and its callback() exchanges the code. The m2m snippet is run by
// the shell (curl) and its token checked against the JWKS.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';

import { useServer } from '../harness/index.mjs';
import { CookieJar, createApp, createUser, loginThroughForm } from './helpers.mjs';
import { QUICKSTART, snippet } from '../../public/admin/quickstart.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = useServer();
let dir;

before(async () => {
  // The snippets import their library by name: the temp dir sees the project's node_modules.
  dir = await mkdtemp(join(tmpdir(), 'quickstart-'));
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** Writes the snippet to a temp module and imports it (its top level runs: discovery). */
async function load(code) {
  const file = join(dir, `snippet-${++n}.mjs`);
  await writeFile(file, code);
  return import(pathToFileURL(file).href);
}

test('every type has a snippet with the issuer and the client id; values are quoted', () => {
  for (const type of Object.keys(QUICKSTART)) {
    const code = snippet(type, { issuer: 'https://id.example.com', clientId: 'abc"123', redirectUri: 'https://a.example.com/cb' });
    assert.ok(code.includes('abc\\"123') || code.includes(`'abc"123'`), `${type}: the client id, quoted`);
    assert.ok(code.includes('https://id.example.com'), `${type}: the issuer`);
    assert.doesNotMatch(code, /allowInsecureRequests/, `${type}: https needs no insecure option`);
  }
  assert.match(snippet('traditional', { issuer: 'https://id.example.com', clientId: 'x' }), /process\.env\.CLIENT_SECRET/);
  assert.equal(snippet('nope', { issuer: 'https://id.example.com', clientId: 'x' }), '');
});

test('traditional: the openid-client v6 snippet logs a user in with client_secret_basic', async () => {
  await server.ready;
  const redirectUri = 'https://web.example.com/callback';
  const app = await createApp(server, { type: 'traditional', first_party: true, redirect_uris: [redirectUri] });
  assert.equal(app.token_endpoint_auth_method, 'client_secret_basic');
  const user = await createUser(server, { name: 'Quick Start' });
  const code = snippet('traditional', { issuer: server.origin, clientId: app.client_id, redirectUri });
  assert.match(code, new RegExp(app.client_id));
  assert.doesNotMatch(code, new RegExp(app.client_secret), 'the secret is not in the snippet');

  process.env.CLIENT_SECRET = app.client_secret;
  let mod;
  try {
    mod = await load(code);
  } finally {
    delete process.env.CLIENT_SECRET;
  }
  const started = await mod.login();
  const url = new URL(started.url);
  assert.equal(url.origin + url.pathname, `${server.origin}/authorize`);
  assert.equal(url.searchParams.get('client_id'), app.client_id);
  assert.equal(url.searchParams.get('redirect_uri'), redirectUri);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('state'), started.state);

  const back = await loginThroughForm(server, url, { jar: new CookieJar(), email: user.email, password: user.password });
  assert.equal(back.origin + back.pathname, redirectUri);
  const { tokens, claims, userinfo } = await mod.callback(back.href, started);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.aud, app.client_id);
  assert.equal(claims.iss, server.origin);
  assert.equal(userinfo.sub, user.id);
  assert.equal(userinfo.email, user.email);
  assert.ok(tokens.access_token);

  // A wrong state is refused by the snippet's callback (the check is there).
  await assert.rejects(mod.callback(back.href, { ...started, state: 'other' }));
});

test('traditional: with a wrong CLIENT_SECRET the snippet\'s code exchange fails', async () => {
  await server.ready;
  const redirectUri = 'https://web2.example.com/callback';
  const app = await createApp(server, { type: 'traditional', first_party: true, redirect_uris: [redirectUri] });
  const user = await createUser(server);
  process.env.CLIENT_SECRET = 'not-the-secret';
  let mod;
  try {
    mod = await load(snippet('traditional', { issuer: server.origin, clientId: app.client_id, redirectUri }));
  } finally {
    delete process.env.CLIENT_SECRET;
  }
  const started = await mod.login();
  const back = await loginThroughForm(server, new URL(started.url), { jar: new CookieJar(), email: user.email, password: user.password });
  await assert.rejects(mod.callback(back.href, started), (e) => e.status === 401 || /invalid_client/.test(`${e.error ?? ''} ${e.message}`), 'the provider answers 401');
});

test('spa: the oauth4webapi snippet (PKCE, public client) logs a user in, in Node', async () => {
  await server.ready;
  const redirectUri = 'https://spa.example.com/callback';
  const app = await createApp(server, { type: 'spa', first_party: true, redirect_uris: [redirectUri] });
  const user = await createUser(server, { name: 'Spa User' });
  // The browser's globals the snippet uses: sessionStorage and location.
  const storage = new Map();
  const loc = { href: 'https://spa.example.com/', assigned: null, assign(u) { this.assigned = String(u); } };
  globalThis.sessionStorage = {
    getItem: (k) => storage.get(k) ?? null,
    setItem: (k, v) => storage.set(k, String(v)),
    removeItem: (k) => storage.delete(k),
  };
  globalThis.location = loc;
  try {
    const mod = await load(snippet('spa', { issuer: server.origin, clientId: app.client_id, redirectUri }));
    await mod.login();
    assert.ok(loc.assigned, 'login() went to the provider');
    const url = new URL(loc.assigned);
    assert.equal(url.origin + url.pathname, `${server.origin}/authorize`);
    assert.equal(url.searchParams.get('client_id'), app.client_id);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(storage.get('code_verifier'), 'the verifier kept for the callback');

    const back = await loginThroughForm(server, url, { jar: new CookieJar(), email: user.email, password: user.password });
    assert.equal(back.origin + back.pathname, redirectUri);
    loc.href = back.href;
    const { claims, userinfo, tokens } = await mod.callback();
    assert.equal(claims.sub, user.id);
    assert.equal(claims.aud, app.client_id);
    assert.equal(userinfo.email, user.email);
    assert.ok(tokens.access_token);
    assert.equal(storage.has('code_verifier'), false, 'the verifier is used once');
  } finally {
    delete globalThis.sessionStorage;
    delete globalThis.location;
  }
});

test('m2m: the curl snippet gets a client_credentials access token for the API', async () => {
  await server.ready;
  const audience = 'https://api.example.com';
  const app = await createApp(server, { type: 'm2m', allowed_audiences: [audience], allowed_scopes: ['read:things'] });
  const code = snippet('m2m', { issuer: server.origin, clientId: app.client_id, audience, scope: 'read:things' });
  assert.doesNotMatch(code, new RegExp(app.client_secret));
  const run = (secret) => promisify(execFile)('sh', ['-c', code], { env: { ...process.env, CLIENT_SECRET: secret } });
  const { stdout } = await run(app.client_secret);
  const body = JSON.parse(stdout);
  assert.equal(body.token_type.toLowerCase(), 'bearer', stdout);
  assert.equal(body.scope, 'read:things');
  const jwks = createRemoteJWKSet(new URL(`${server.origin}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(body.access_token, jwks, { issuer: server.origin, audience });
  assert.equal(payload.client_id, app.client_id);

  const wrong = JSON.parse((await run('wrong')).stdout);
  assert.equal(wrong.error, 'invalid_client');
});

test('native: the AppAuth snippet names the issuer, client id and redirect scheme', async () => {
  await server.ready;
  const redirectUri = 'com.example.quick:/callback';
  const app = await createApp(server, { type: 'native', redirect_uris: [redirectUri] });
  const code = snippet('native', { issuer: server.origin, clientId: app.client_id, redirectUri });
  assert.match(code, /AuthorizationServiceConfiguration\.fetchFromIssuer\(Uri\.parse\("http:\/\/127\.0\.0\.1:\d+"\)\)/);
  assert.ok(code.includes(`"${app.client_id}"`));
  assert.ok(code.includes('appAuthRedirectScheme"] = "com.example.quick"'));
  // AppAuth fetches this document: the issuer in it is the one in the snippet.
  const disco = await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json();
  assert.equal(disco.issuer, server.origin);
  assert.ok(disco.code_challenge_methods_supported.includes('S256'));
});
