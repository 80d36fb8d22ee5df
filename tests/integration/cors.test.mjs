// CORS on /token and /userinfo: only origins that an application lists in allowed_origins.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../harness/index.mjs';
import {
  CookieJar,
  request,
  authorizeUrl,
  createApp,
  createUser,
  loginThroughForm,
  tokenRequest,
  pkcePair,
  randomToken,
} from './helpers.mjs';

const server = useServer();
const ALLOWED = 'http://allowed.example';
const EVIL = 'http://evil.example';
const REDIRECT = 'http://allowed.example/callback';

let app;
let user;
before(async () => {
  await server.ready;
  app = await createApp(server, { type: 'spa', redirect_uris: [REDIRECT], allowed_origins: [ALLOWED] });
  assert.deepEqual(app.allowed_origins, [ALLOWED]);
  user = await createUser(server);
});

function assertAllowed(res, origin) {
  assert.equal(res.headers.get('access-control-allow-origin'), origin, 'ACAO is exactly the origin');
  const vary = (res.headers.get('vary') ?? '').split(',').map((s) => s.trim().toLowerCase());
  assert.ok(vary.includes('origin'), `Vary: Origin (got ${res.headers.get('vary')})`);
}

function assertNotAllowed(res) {
  assert.equal(res.headers.get('access-control-allow-origin'), null, 'no ACAO for this origin');
  assert.equal(res.headers.get('access-control-allow-credentials'), null);
}

function preflight(path, origin, requestHeaders) {
  const headers = { origin, 'access-control-request-method': 'POST' };
  if (requestHeaders) headers['access-control-request-headers'] = requestHeaders;
  return fetch(`${server.origin}${path}`, { method: 'OPTIONS', headers });
}

test('preflight OPTIONS /token from an allowed origin', async () => {
  const res = await preflight('/token', ALLOWED, 'content-type');
  await res.arrayBuffer();
  assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
  assertAllowed(res, ALLOWED);
  assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/i);
});

test('preflight OPTIONS /token from another origin gets no ACAO', async () => {
  const res = await preflight('/token', EVIL, 'content-type');
  await res.arrayBuffer();
  assertNotAllowed(res);
});

test('preflight OPTIONS /token: origin matching is exact', async () => {
  for (const origin of ['http://allowed.example:8080', 'https://allowed.example', 'http://sub.allowed.example', 'null']) {
    const res = await preflight('/token', origin, 'content-type');
    await res.arrayBuffer();
    assert.equal(res.headers.get('access-control-allow-origin'), null, `origin ${origin}`);
  }
});

test('actual POST /token (failing) from the allowed origin carries ACAO', async () => {
  const params = {
    grant_type: 'authorization_code',
    code: randomToken(24),
    redirect_uri: REDIRECT,
    code_verifier: pkcePair().verifier,
    client_id: app.client_id,
  };
  const ok = await tokenRequest(server, params, { headers: { origin: ALLOWED } });
  assert.equal(ok.status, 400, ok.text);
  assert.equal(ok.json?.error, 'invalid_grant');
  assertAllowed(ok, ALLOWED);

  const evil = await tokenRequest(server, params, { headers: { origin: EVIL } });
  assert.equal(evil.status, 400);
  assertNotAllowed(evil);
});

test('preflight OPTIONS /userinfo with Authorization header', async () => {
  const res = await preflight('/userinfo', ALLOWED, 'authorization');
  await res.arrayBuffer();
  assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
  assertAllowed(res, ALLOWED);
  assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/i);

  const evil = await preflight('/userinfo', EVIL, 'authorization');
  await evil.arrayBuffer();
  assertNotAllowed(evil);
});

test('/userinfo responses: ACAO for the allowed origin on 401 and 200', async () => {
  const bad = await fetch(`${server.origin}/userinfo`, {
    headers: { authorization: 'Bearer invalid', origin: ALLOWED },
  });
  await bad.arrayBuffer();
  assert.equal(bad.status, 401);
  assertAllowed(bad, ALLOWED);

  // A real code + token exchange from the allowed origin, then userinfo.
  const jar = new CookieJar();
  const { verifier, challenge } = pkcePair();
  const state = randomToken();
  const callback = await loginThroughForm(
    server,
    authorizeUrl(server, {
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: REDIRECT,
      scope: 'openid email',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
    { jar, email: user.email, password: user.password },
  );
  const exchange = {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code'),
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    client_id: app.client_id,
  };
  // From an origin the application does not allow, the exchange is refused, naming the
  // origin, and the code is not spent: a browser there could never have read the tokens.
  const refused = await tokenRequest(server, exchange, { headers: { origin: EVIL } });
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.json.error, 'invalid_request');
  assert.match(refused.json.error_description, /http:\/\/evil\.example/);
  assertNotAllowed(refused);
  const t = await tokenRequest(server, exchange, { headers: { origin: ALLOWED } });
  assert.equal(t.status, 200, t.text);
  assertAllowed(t, ALLOWED);

  const ok = await fetch(`${server.origin}/userinfo`, {
    headers: { authorization: `Bearer ${t.json.access_token}`, origin: ALLOWED },
  });
  const info = await ok.json();
  assert.equal(ok.status, 200);
  assert.equal(info.sub, user.id);
  assertAllowed(ok, ALLOWED);

  const evil = await fetch(`${server.origin}/userinfo`, {
    headers: { authorization: `Bearer ${t.json.access_token}`, origin: EVIL },
  });
  await evil.arrayBuffer();
  assertNotAllowed(evil);
});

test('allowed_origins changes take effect (PATCH)', async () => {
  const other = await createApp(server, { type: 'spa', redirect_uris: ['http://late.example/cb'], allowed_origins: [] });
  const before = await preflight('/token', 'http://late.example', 'content-type');
  await before.arrayBuffer();
  assertNotAllowed(before);
  const res = await fetch(`${server.origin}/api/v1/applications/${other.client_id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ allowed_origins: ['http://late.example'] }),
  });
  assert.equal(res.status, 200, await res.text());
  const after = await preflight('/token', 'http://late.example', 'content-type');
  await after.arrayBuffer();
  assertAllowed(after, 'http://late.example');
});

test('/authorize never answers CORS, even for an allowed origin', async () => {
  const res = await request(
    authorizeUrl(server, {
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: 's',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    }),
    { headers: { origin: ALLOWED } },
  );
  await res.arrayBuffer();
  assert.equal(res.headers.get('access-control-allow-origin'), null);
  const pre = await fetch(`${server.origin}/authorize`, {
    method: 'OPTIONS',
    headers: { origin: ALLOWED, 'access-control-request-method': 'GET' },
  });
  await pre.arrayBuffer();
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
});
