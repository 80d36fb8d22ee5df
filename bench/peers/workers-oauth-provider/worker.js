// Peer Worker for the benchmark: @cloudflare/workers-oauth-provider as its README shows it, one
// Worker that is both authorization server and resource (OAuthProvider). The /authorize page
// approves every request, as a consent page would after the user signed in and said yes.
import { OAuthProvider } from '@cloudflare/workers-oauth-provider';

// Each authorization signs in a user of its own, as many users of a real deployment would. With
// one fixed user, the library's default (revokeExistingGrants: true) would revoke the grants of
// flows still in progress when flows run in parallel; setting it to false would skip the grant
// listing every real authorization does. A fresh user keeps the defaults and the real KV traffic.
const newUserId = () => `user-${crypto.randomUUID()}`;

const apiHandler = {
  async fetch(request, env, ctx) {
    return Response.json({ userId: ctx.props?.userId ?? null });
  },
};

const defaultHandler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/authorize') {
      const authRequest = await env.OAUTH_PROVIDER.parseAuthRequest(request);
      const userId = newUserId();
      const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
        request: authRequest,
        userId,
        metadata: {},
        scope: authRequest.scope,
        props: { userId },
      });
      return Response.redirect(redirectTo, 302);
    }
    // Benchmark setup: registers a client through the library's own helper.
    if (url.pathname === '/setup/client' && request.method === 'POST') {
      if (!env.SETUP_TOKEN || request.headers.get('authorization') !== `Bearer ${env.SETUP_TOKEN}`) {
        return new Response('forbidden', { status: 403 });
      }
      const body = await request.json();
      const client = await env.OAUTH_PROVIDER.createClient({
        redirectUris: body.redirectUris,
        clientName: body.clientName ?? 'bench client',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code', 'refresh_token'],
        responseTypes: ['code'],
      });
      return Response.json(client, { status: 201 });
    }
    return new Response('not found', { status: 404 });
  },
};

// Storage meter for the benchmark (STORAGE_METER=true, as the provider under test runs): the
// KV calls one request makes, by kind, in an X-Storage-Calls header shaped like ours, so
// bench/run.mjs models this peer's latency from measured calls rather than from a count read
// off its source. The library reads env.OAUTH_KV on every call and caches its helpers on the
// env object it is given, so a per-request env with a counting KV counts exactly this request.
function metered(env) {
  const counts = { kv_read: 0, kv_write: 0, kv_list: 0 };
  const kind = { get: 'kv_read', getWithMetadata: 'kv_read', put: 'kv_write', delete: 'kv_write', list: 'kv_list' };
  const kv = env.OAUTH_KV;
  const counting = new Proxy(kv, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== 'function') return v;
      // Bound to the real namespace: its methods may rely on the receiver being the binding.
      return (...args) => {
        if (kind[prop]) counts[kind[prop]]++;
        return v.apply(target, args);
      };
    },
  });
  return { env: { ...env, OAUTH_KV: counting }, counts };
}

const header = (c) => `kv=${c.kv_read + c.kv_write + c.kv_list}; kv_read=${c.kv_read}; kv_write=${c.kv_write}; kv_list=${c.kv_list}; d1=0; d1_primary=0; d1_replica=0; do=0`;

// The resource (token audience) is this Worker's own /api, on the origin it is served from.
let provider;
export default {
  async fetch(request, env, ctx) {
    if (env.STORAGE_METER === 'true') {
      const m = metered(env);
      const res = await serve(request, m.env, ctx);
      const out = new Response(res.body, res);
      out.headers.set('X-Storage-Calls', header(m.counts));
      return out;
    }
    return serve(request, env, ctx);
  },
};

function serve(request, env, ctx) {
  provider ??= new OAuthProvider({
    apiRoute: '/api/',
    apiHandler,
    defaultHandler,
    authorizeEndpoint: '/authorize',
    tokenEndpoint: '/oauth/token',
    resourceMetadata: {
      resource: `${env.ORIGIN}/api`,
      authorization_servers: [env.ORIGIN],
    },
  });
  return provider.fetch(request, env, ctx);
}
