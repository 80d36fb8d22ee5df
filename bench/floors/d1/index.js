// Floor: one local D1 query per request, the smallest there is.
export default {
  async fetch(request, env) {
    const row = await env.DB.prepare('SELECT 1').first();
    return new Response(row ? 'ok' : 'empty');
  },
};
