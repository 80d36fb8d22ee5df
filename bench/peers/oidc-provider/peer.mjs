// Benchmark peer: oidc-provider 9.13.3 on Node 22 (see server.mjs). prepare() logs in once
// through the provider's development interactions and consents; each flow then reuses that
// session cookie, so GET /auth answers straight away with a code.

import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectStatus, nodeBinary, npmInstall, pkce, startDetached } from '../common.mjs';

const DIR = dirname(fileURLToPath(import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const CLIENT_ID = 'bench';
const SCOPE = 'openid';

export const name = 'oidc-provider 9.13.3';

export async function install() {
  await npmInstall(DIR);
}

export async function start({ port }) {
  const origin = `http://127.0.0.1:${port}`;
  const server = await startDetached(nodeBinary(), [join(DIR, 'server.mjs'), String(port), REDIRECT_URI], {
    cwd: DIR,
    env: { ...process.env },
    name: 'oidc-provider',
    ready: async () => (await fetch(`${origin}/.well-known/openid-configuration`)).ok,
  });
  return { origin, pid: server.pid, output: server.output, stop: server.stop };
}

function authUrl(origin, challenge, state) {
  const url = new URL('/auth', origin);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  return url;
}

/** A cookie jar that is enough for one user agent on one host (ignores Path). */
class Jar {
  cookies = new Map();
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const k = pair.slice(0, i).trim();
      const v = pair.slice(i + 1).trim();
      if (v === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
  }
  header(filter = () => true) {
    return [...this.cookies].filter(([k]) => filter(k)).map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function prepare(server) {
  const jar = new Jar();
  const get = async (url) => {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(res);
    await res.text();
    return res;
  };
  const post = async (url, form) => {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    jar.take(res);
    await res.text();
    return res;
  };
  const { challenge } = pkce();
  // Follow redirects by hand, answering the login and then the consent prompt.
  let res = await get(authUrl(server.origin, challenge, 'setup'));
  for (let step = 0; step < 10; step++) {
    if (![302, 303].includes(res.status)) throw new Error(`setup: unexpected ${res.status} at ${res.url}`);
    const next = new URL(res.headers.get('location'), server.origin);
    if (next.href.startsWith(REDIRECT_URI)) {
      if (!next.searchParams.get('code')) throw new Error(`setup ended without a code: ${next}`);
      const session = jar.header((k) => k.startsWith('_session'));
      if (!session) throw new Error('setup: no session cookie');
      return { origin: server.origin, cookie: session };
    }
    const m = next.pathname.match(/^\/interaction\/([^/]+)$/);
    if (m) {
      const page = await (await fetch(next, { headers: { cookie: jar.header() } })).text();
      const prompt = /name="prompt" value="consent"/.test(page) ? 'consent' : 'login';
      res = await post(next, prompt === 'login' ? { prompt, login: 'bench-user', password: 'x' } : { prompt });
    } else {
      res = await get(next);
    }
  }
  throw new Error('setup: too many redirects');
}

export async function flow(ctx) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const res = await fetch(authUrl(ctx.origin, challenge, state), {
    redirect: 'manual',
    headers: { cookie: ctx.cookie },
  });
  await expectStatus(res, 303, 'GET /auth');
  const location = new URL(res.headers.get('location'));
  const code = location.searchParams.get('code');
  if (!code || location.searchParams.get('state') !== state) throw new Error(`bad redirect: ${location}`);

  const tok = await fetch(new URL('/token', ctx.origin), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
      code_verifier: verifier,
    }),
  });
  const body = JSON.parse(await expectStatus(tok, 200, 'POST /token'));
  if (!body.access_token || !body.id_token) throw new Error('no access_token or id_token');
  return body;
}
