// Benchmark peer: @cloudflare/workers-oauth-provider 1.2.3 as a Worker under `wrangler dev`
// (workerd, local KV bound as OAUTH_KV). See worker.js. Uses the repo's wrangler, so both the
// project and this peer run on the same workerd.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, expectStatus, nodeBinary, npmInstall, pkce, startDetached } from '../common.mjs';

const DIR = dirname(fileURLToPath(import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export const name = 'workers-oauth-provider 1.2.3';

export async function install() {
  await npmInstall(DIR);
}

export async function start({ port }) {
  const wrangler = join(REPO_ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  if (!existsSync(wrangler)) throw new Error(`wrangler missing (${wrangler}): run npm install at the repo root`);
  const origin = `http://127.0.0.1:${port}`;
  const setupToken = randomBytes(18).toString('base64url');
  const stateDir = await mkdtemp(join(tmpdir(), 'peer-wop-'));
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    PATH: `${dirname(nodeBinary())}:${process.env.PATH ?? ''}`,
  };
  let server;
  try {
    server = await startDetached(
      nodeBinary(),
      [
        wrangler, 'dev',
        '--ip', '127.0.0.1',
        '--port', String(port),
        '--persist-to', stateDir,
        '--log-level', 'warn',
        '--show-interactive-dev-session=false',
        '--var', `ORIGIN:${origin}`,
        '--var', `SETUP_TOKEN:${setupToken}`,
        // KV calls per request in X-Storage-Calls (worker.js), as the provider under test runs.
        '--var', 'STORAGE_METER:true',
      ],
      {
        cwd: DIR,
        env,
        name: 'wrangler dev (workers-oauth-provider)',
        ready: async () => (await fetch(`${origin}/.well-known/oauth-authorization-server`)).ok,
      },
    );
  } catch (e) {
    await rm(stateDir, { recursive: true, force: true });
    throw e;
  }
  return {
    origin,
    pid: server.pid,
    setupToken,
    output: server.output,
    stop: async () => {
      await server.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export async function prepare(server) {
  const res = await fetch(`${server.origin}/setup/client`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.setupToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ redirectUris: [REDIRECT_URI], clientName: 'bench' }),
  });
  const client = JSON.parse(await expectStatus(res, 201, 'create client'));
  return { origin: server.origin, clientId: client.clientId, redirectUri: REDIRECT_URI };
}

export async function flow(ctx) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const auth = new URL('/authorize', ctx.origin);
  auth.search = new URLSearchParams({
    response_type: 'code',
    client_id: ctx.clientId,
    redirect_uri: ctx.redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  const res = await fetch(auth, { redirect: 'manual' });
  await expectStatus(res, 302, 'GET /authorize');
  const location = new URL(res.headers.get('location'));
  const code = location.searchParams.get('code');
  if (!code || location.searchParams.get('state') !== state) throw new Error(`bad redirect: ${location}`);

  const tok = await fetch(new URL('/oauth/token', ctx.origin), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: ctx.redirectUri,
      client_id: ctx.clientId,
      code_verifier: verifier,
    }),
  });
  const body = JSON.parse(await expectStatus(tok, 200, 'POST /oauth/token'));
  if (!body.access_token) throw new Error('no access_token');
  // The KV calls of this flow's two requests (worker.js's meter), for the latency model.
  ctx.storage = { authorize: res.headers.get('x-storage-calls'), token: tok.headers.get('x-storage-calls') };
  return body;
}
