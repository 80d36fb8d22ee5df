// Bad input at every endpoint (issue 5): malformed, missing, duplicated, oversized and wrongly
// encoded parameters, wrong content types and invalid JSON. Each must get the spec's error with
// a description (JSON for the API endpoints, an error page with no redirect for the browser
// endpoints), never a 5xx, and must leave nothing behind.

import { test, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer } from '../harness/index.mjs';
import { allApplications, basicAuth, createApp, createUser, managementApi, obtainCode, CookieJar, readAnswer, tokenRequest } from './helpers.mjs';

const server = useServer({ vars: { REGISTRATION_ENABLED: 'true' } });

const FORM = 'application/x-www-form-urlencoded';
const BIG = 'a'.repeat(70 * 1024); // above the 64 KiB body limit
const REDIRECT = 'https://rp.example.com/cb';

let web; // a traditional web app (client_secret_basic)
let spa;
let user;

before(async () => {
  await server.ready;
  web = await createApp(server, { name: 'Bad input web', type: 'traditional', redirect_uris: [REDIRECT] });
  spa = await createApp(server, { name: 'Bad input SPA', type: 'spa', redirect_uris: [REDIRECT] });
  user = await createUser(server);
});

async function send(path, { method = 'POST', type, body, headers = {} } = {}) {
  const h = { ...headers };
  if (type) h['content-type'] = type;
  return readAnswer(await fetch(`${server.origin}${path}`, { method, headers: h, body, redirect: 'manual' }));
}

/** A JSON error of RFC 6749 §5.2's shape with one of `codes` and a description. */
function assertJsonError(r, status, codes, what) {
  const label = `${what}: ${r.status} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, status, label);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, label);
  assert.ok([].concat(codes).includes(r.json?.error), label);
  assert.equal(typeof r.json.error_description, 'string', label);
  assert.ok(r.json.error_description.length > 0, label);
  assert.equal(r.headers.get('location'), null, label);
}

/** An HTML error page: 4xx, no redirect anywhere, and the description in the page. */
function assertErrorPage(r, what, mention) {
  const label = `${what}: ${r.status} ${r.text.slice(0, 300)}`;
  assert.ok(r.status >= 400 && r.status < 500, label);
  assert.match(r.headers.get('content-type') ?? '', /text\/html/, label);
  assert.equal(r.headers.get('location'), null, label);
  if (mention) assert.match(r.text, mention, label);
}

const formEndpoints = ['/token', '/revoke', '/introspect'];

describe('form endpoints: /token, /revoke, /introspect', () => {
  const auth = () => ({ authorization: basicAuth(web.client_id, web.client_secret) });

  test('wrong or missing content type -> 400 invalid_request naming the type', async () => {
    for (const path of formEndpoints) {
      for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', undefined]) {
        const r = await send(path, { type, body: 'grant_type=client_credentials&token=x', headers: auth() });
        assertJsonError(r, 400, 'invalid_request', `${path} ${type}`);
        assert.match(r.json.error_description, /Content-Type/, path);
      }
    }
  });

  test('a body over the limit -> 400 invalid_request', async () => {
    for (const path of formEndpoints) {
      const r = await send(path, { type: FORM, body: `grant_type=authorization_code&code=${BIG}`, headers: auth() });
      assertJsonError(r, 400, 'invalid_request', path);
      assert.match(r.json.error_description, /exceeds/, path);
    }
  });

  test('a chunked body (no Content-Length) is read up to the limit, then refused', async () => {
    // Sent as a stream: the Worker cannot know the length before reading, and must not read
    // more than the limit into its memory (it would grow the Wasm memory for good).
    // node:http, not fetch: the Worker answers before the whole body is sent, and fetch
    // then reports the interrupted upload instead of the answer.
    const chunked = (parts) =>
      new Promise((resolve, reject) => {
        const url = new URL('/token', server.origin);
        const req = http.request(url, { method: 'POST', headers: { ...auth(), 'content-type': FORM } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode, headers: new Headers(res.headers), text }));
        });
        req.on('error', (e) => (req.res ? undefined : reject(e)));
        (async () => {
          for (const p of parts) {
            if (req.destroyed || req.res) break;
            if (!req.write(p)) await new Promise((r) => req.once('drain', r));
          }
          req.end();
        })().catch(() => {});
      });
    const small = await chunked(['grant_type=authorization_', 'code&code=not-a-code', `&redirect_uri=${encodeURIComponent(REDIRECT)}`]);
    assert.ok(small.text.startsWith("{"), `${small.status} ${small.text.slice(0, 400)}`);
    small.json = JSON.parse(small.text);
    assertJsonError(small, 400, 'invalid_grant', 'small chunked body');
    const huge = await chunked(['grant_type=authorization_code&code=', ...Array(256).fill('a'.repeat(16 * 1024))]);
    assert.ok(huge.text.startsWith("{"), `${huge.status} ${huge.text.slice(0, 400)}`);
    huge.json = JSON.parse(huge.text);
    assertJsonError(huge, 400, 'invalid_request', 'a 4 MiB chunked body');
    assert.match(huge.json.error_description, /exceeds/);
  });

  test('malformed percent-escapes and bytes that are not UTF-8 -> 400 invalid_request', async () => {
    for (const path of formEndpoints) {
      for (const body of ['grant_type=authorization_code&code=%zz', 'token=%FF%FE', 'grant_type=%E2%28%A1', '%C3=1']) {
        const r = await send(path, { type: FORM, body, headers: auth() });
        assertJsonError(r, 400, 'invalid_request', `${path} ${body}`);
      }
      // Raw bytes that are not UTF-8 at all.
      const raw = Buffer.concat([Buffer.from('token='), Buffer.from([0xff, 0xfe, 0x80])]);
      const r = await send(path, { type: FORM, body: raw, headers: auth() });
      assertJsonError(r, 400, 'invalid_request', `${path} raw bytes`);
    }
  });

  test('a repeated parameter -> 400 invalid_request naming it', async () => {
    const cases = [
      ['/token', 'grant_type=client_credentials&grant_type=client_credentials', 'grant_type'],
      ['/revoke', 'token=a&token=b', 'token'],
      ['/introspect', 'token=a&token=b', 'token'],
    ];
    for (const [path, body, name] of cases) {
      const r = await send(path, { type: FORM, body, headers: auth() });
      assertJsonError(r, 400, 'invalid_request', path);
      assert.match(r.json.error_description, new RegExp(name), path);
    }
  });

  test('missing parameters -> 400 invalid_request (or unsupported_grant_type) naming them', async () => {
    for (const [path, name] of [['/token', 'grant_type'], ['/revoke', 'token'], ['/introspect', 'token']]) {
      for (const body of ['', 'unrelated=1', `${name}=`]) {
        const r = await send(path, { type: FORM, body, headers: auth() });
        assertJsonError(r, 400, 'invalid_request', `${path} ${JSON.stringify(body)}`);
        assert.match(r.json.error_description, new RegExp(name), path);
      }
    }
    const r = await send('/token', { type: FORM, body: 'grant_type=authorization_code', headers: auth() });
    assertJsonError(r, 400, 'invalid_request', 'code missing');
    assert.match(r.json.error_description, /code/);
  });

  test('a malformed Authorization header -> 401 invalid_client or 400 invalid_request, never 5xx', async () => {
    for (const header of ['Basic', 'Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'Basic ' + Buffer.from([0xff, 0x3a, 0xfe]).toString('base64'), 'Bearer x', 'Basic ' + 'A'.repeat(10000)]) {
      for (const path of formEndpoints) {
        const r = await send(path, { type: FORM, body: 'grant_type=client_credentials&token=x', headers: { authorization: header } });
        assert.ok(r.status === 400 || r.status === 401, `${path} ${header.slice(0, 20)}: ${r.status} ${r.text}`);
        assertJsonError(r, r.status, r.status === 401 ? 'invalid_client' : 'invalid_request', `${path} ${header.slice(0, 20)}`);
        if (r.status === 401) assert.ok(r.headers.get('www-authenticate'), 'invalid_client carries a challenge');
      }
    }
  });

  test('a failed exchange consumes nothing: the code still works afterwards', async () => {
    const jar = new CookieJar();
    const { code, verifier } = await obtainCode(server, { app: spa, redirectUri: REDIRECT, jar, user });
    const good = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: spa.client_id, code_verifier: verifier };
    // Duplicated, mis-encoded, wrong type, oversized: all refused before the code is touched.
    const bad = [
      [FORM, `${new URLSearchParams(good)}&code=${code}`],
      [FORM, `${new URLSearchParams(good)}&redirect_uri=%FF`],
      ['application/json', JSON.stringify(good)],
      [FORM, `${new URLSearchParams(good)}&pad=${BIG}`],
    ];
    for (const [type, body] of bad) {
      const r = await send('/token', { type, body });
      assertJsonError(r, 400, 'invalid_request', body.slice(0, 80));
    }
    const ok = await tokenRequest(server, good);
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json.id_token);
  });
});

describe('/userinfo', () => {
  test('malformed bearer input -> 400 invalid_request or 401 invalid_token with a challenge', async () => {
    const cases = [
      [{ authorization: 'Bearer' }, undefined],
      [{ authorization: 'Bearer a b' }, undefined],
      [{ authorization: 'Basic abc' }, undefined],
      [{ authorization: `Bearer ${'x'.repeat(20000)}` }, undefined],
      [{ authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' }, undefined],
    ];
    for (const [headers] of cases) {
      const r = await send('/userinfo', { method: 'GET', headers });
      assert.ok([400, 401].includes(r.status), `${headers.authorization.slice(0, 30)}: ${r.status} ${r.text}`);
      assertJsonError(r, r.status, ['invalid_request', 'invalid_token'], headers.authorization.slice(0, 30));
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/, 'a bearer challenge');
    }
  });

  test('POST with the wrong content type, a repeated or mis-encoded token, or a huge body -> 400', async () => {
    // RFC 6750 §2.2: a body token counts only form-encoded, so a JSON body carries no token.
    const json = await send('/userinfo', { type: 'application/json', body: '{"access_token":"x"}' });
    assertJsonError(json, 401, 'invalid_token', 'JSON body');
    assert.equal(json.headers.get('www-authenticate'), 'Bearer', 'no credentials: a bare challenge');
    for (const [type, body] of [
      [FORM, 'access_token=a&access_token=b'],
      [FORM, 'access_token=%FF'],
      [FORM, `access_token=${BIG}`],
    ]) {
      const r = await send('/userinfo', { type, body });
      assertJsonError(r, 400, 'invalid_request', `${type} ${body.slice(0, 40)}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_request"/);
    }
  });
});

describe('browser endpoints: /authorize, /login, /consent, /logout', () => {
  const authorizeQuery = (extra = '') =>
    `response_type=code&client_id=${spa.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}` +
    `&scope=openid&code_challenge=${'c'.repeat(43)}&code_challenge_method=S256${extra}`;

  test('/authorize with a mis-encoded or repeated client_id or redirect_uri -> error page, no redirect', async () => {
    for (const [extra, mention] of [
      ['&redirect_uri=https%3A%2F%2Fevil.example%2F', /redirect_uri/],
      [`&client_id=${spa.client_id}`, /client_id/],
      ['&state=%FF', /state/],
      ['&state=%zz', /state/],
    ]) {
      const r = await send(`/authorize?${authorizeQuery(extra)}`, { method: 'GET' });
      assertErrorPage(r, extra, mention);
    }
  });

  test('/authorize with an oversized query -> a 4xx, never a 5xx or a redirect', async () => {
    const r = await send(`/authorize?${authorizeQuery(`&state=${'s'.repeat(12 * 1024)}`)}`, { method: 'GET' });
    // Either the runtime refuses the URL (414/431) or the provider answers; both without a redirect.
    assert.ok(r.status < 500, `${r.status}`);
    assert.equal(r.headers.get('location') === null || r.status === 200 || r.status === 302, true);
    if (r.status === 302) assert.ok(r.headers.get('location').startsWith(REDIRECT), 'only to the registered URI');
  });

  test('POST endpoints with the wrong content type, a bad encoding or an oversized body -> error page', async () => {
    for (const path of ['/authorize', '/login', '/consent', '/logout']) {
      for (const [type, body, mention] of [
        ['application/json', '{"a":1}', /Content-Type/],
        [undefined, 'a=1', /Content-Type/],
        [FORM, 'csrf_token=%FF', /UTF-8/],
        [FORM, `pad=${BIG}`, /exceeds/],
      ]) {
        const r = await send(path, { type, body });
        assertErrorPage(r, `${path} ${type} ${body.slice(0, 20)}`, mention);
      }
    }
  });

  test('/login without its fields or with repeated ones -> 400 page, no session cookie', async () => {
    for (const body of ['', 'email=a@b.c', 'email=a@b.c&email=d@e.f&password=x&csrf_token=t&auth_request=x']) {
      const res = await fetch(`${server.origin}/login`, {
        method: 'POST',
        headers: { 'content-type': FORM, cookie: 'csrf=t' },
        body,
        redirect: 'manual',
      });
      const text = await res.text();
      assertErrorPage({ status: res.status, headers: res.headers, text }, `/login ${body}`);
      assert.ok(!res.headers.getSetCookie().some((c) => /sid=[^;]/.test(c)), 'no session is set');
    }
  });

  test('/logout with a malformed id_token_hint or post_logout_redirect_uri -> error page, no redirect', async () => {
    for (const q of [
      'id_token_hint=not.a.jwt&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F',
      'post_logout_redirect_uri=%FF',
      'id_token_hint=a&id_token_hint=b',
      `client_id=${spa.client_id}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F`,
    ]) {
      const r = await send(`/logout?${q}`, { method: 'GET' });
      assert.equal(r.headers.get('location'), null, `${q}: ${r.status}`);
      assert.ok(r.status < 500, `${q}: ${r.status} ${r.text.slice(0, 200)}`);
    }
  });
});

describe('JSON endpoints: /register and the management API', () => {
  const api = () => managementApi(server);

  test('/register: invalid JSON, wrong type, not an object, oversized -> 400 with the RFC 7591 codes', async () => {
    // RFC 7591 §3.2.2 has no invalid_request; a body that is not metadata is invalid_client_metadata.
    const cases = [
      ['application/json', '{"redirect_uris": [', ['invalid_request', 'invalid_client_metadata']],
      ['application/json', '[]', ['invalid_request', 'invalid_client_metadata']],
      ['application/json', '"x"', ['invalid_request', 'invalid_client_metadata']],
      ['application/json', '{"redirect_uris": "https://a.example/cb"}', ['invalid_client_metadata', 'invalid_redirect_uri']],
      ['application/json', '{"redirect_uris": [42]}', ['invalid_client_metadata', 'invalid_redirect_uri']],
      ['application/json', '{"redirect_uris": ["https://a.example/cb"], "grant_types": "authorization_code"}', 'invalid_client_metadata'],
      ['application/json', '{"redirect_uris": ["https://a.example/cb"], "client_name": {"x": 1}}', 'invalid_client_metadata'],
      ['application/json', `{"redirect_uris": ["https://a.example/cb"], "client_name": "${BIG}"}`, ['invalid_request', 'invalid_client_metadata']],
      [FORM, 'redirect_uris=https://a.example/cb', ['invalid_request', 'invalid_client_metadata']],
      [undefined, '{}', ['invalid_request', 'invalid_client_metadata']],
    ];
    const before = (await allApplications(server)).map((a) => a.client_id);
    for (const [type, body, codes] of cases) {
      const r = await send('/register', { type, body });
      assertJsonError(r, 400, codes, `${type} ${body.slice(0, 60)}`);
    }
    // A refused registration stored nothing (the database may hold other files' applications).
    const after = await allApplications(server);
    const added = after.filter((a) => !before.includes(a.client_id)).map((a) => a.name);
    assert.deepEqual(added, [], `unexpected applications: ${added}`);
  });

  test('management: invalid JSON, wrong types, wrong content type, oversized -> 400 invalid_request', async () => {
    const cases = [
      ['POST', '/applications', 'application/json', '{"name":'],
      ['POST', '/applications', 'application/json', '[1,2]'],
      ['POST', '/applications', 'application/json', '{"name": 5, "type": "spa", "redirect_uris": []}'],
      ['POST', '/applications', 'application/json', '{"name": "x", "type": "spa", "redirect_uris": "https://a.example/cb"}'],
      ['POST', '/applications', 'text/plain', '{"name": "x", "type": "spa", "redirect_uris": []}'],
      ['POST', '/applications', 'application/json', `{"name": "x", "type": "spa", "redirect_uris": [], "description": "${BIG}"}`],
      ['PATCH', `/applications/${web.client_id}`, 'application/json', '{"redirect_uris": [1]}'],
      ['PATCH', `/applications/${web.client_id}`, 'application/json', 'null'],
      ['POST', '/users', 'application/json', '{"email": "not-an-email", "password": "long enough password"}'],
      ['POST', '/users', 'application/json', '{"email": ["a@b.c"], "password": "long enough password"}'],
      ['POST', '/users', 'application/json', '{"email": "a@b.c"}'],
    ];
    for (const [method, path, type, body] of cases) {
      const r = await send(`/api/v1${path}`, {
        method,
        type,
        body,
        headers: { authorization: `Bearer ${server.adminToken}` },
      });
      assertJsonError(r, 400, 'invalid_request', `${method} ${path} ${body.slice(0, 60)}`);
    }
    // The application that a bad PATCH addressed is unchanged.
    const after = await api()('GET', `/applications/${web.client_id}`);
    assert.deepEqual(after.json.redirect_uris, [REDIRECT]);
  });

  test('management list with a malformed query or cursor -> 400 invalid_request', async () => {
    for (const q of ['limit=%FF', 'limit=abc', 'limit=-1', 'cursor=!!!', 'type=mainframe', 'limit=1&limit=2']) {
      const r = await api()('GET', `/applications?${q}`);
      assertJsonError({ ...r, headers: r.headers }, 400, 'invalid_request', q);
    }
  });

  test('unknown paths are 404 JSON and wrong methods are 405 with Allow', async () => {
    const r = await send('/nope', { method: 'GET' });
    assertJsonError(r, 404, 'not_found', '/nope');
    for (const [path, method] of [['/token', 'GET'], ['/login', 'GET'], ['/.well-known/jwks.json', 'POST'], ['/introspect', 'PUT']]) {
      const m = await send(path, { method });
      assert.equal(m.status, 405, `${method} ${path}`);
      assert.ok(m.headers.get('allow'), `${method} ${path} has Allow`);
      assert.equal(m.json?.error, 'invalid_request');
    }
    // HEAD is GET without the body (RFC 9110 §9.3.2) for the public documents.
    for (const path of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
      const h = await fetch(`${server.origin}${path}`, { method: 'HEAD' });
      assert.equal(h.status, 200, `HEAD ${path}`);
      assert.match(h.headers.get('content-type') ?? '', /application\/json/);
      assert.equal((await h.arrayBuffer()).byteLength, 0);
    }
  });
});
