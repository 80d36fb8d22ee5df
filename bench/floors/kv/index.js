// Floor: one local KV read per request (a missing key: the lookup is still made).
export default {
  async fetch(request, env) {
    const value = await env.KV.get('k');
    return new Response(value ?? 'ok');
  },
};
