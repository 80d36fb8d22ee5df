// Floor: the cheapest possible Worker. Whatever a real endpoint costs above this is its own.
export default {
  async fetch() {
    return new Response('ok');
  },
};
