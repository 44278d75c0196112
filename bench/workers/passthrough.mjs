// The platform floor: a plain JavaScript Worker that forwards every request to UPSTREAM
// unchanged (method, path, query, headers, body streamed) and returns upstream's response
// as it comes (status, headers, body streamed). No parsing, no storage.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname + url.search, request);
  },
};
