// The floor of a gateway that prices what it forwards, in plain JavaScript: the request
// body is read whole (to know the model and what was asked), a JSON answer is read whole
// (for its usage) and sent on as bytes, and an event stream is pumped chunk by chunk
// through the worker (to see the final usage chunk) into the client's body. No parsing,
// no storage. llmobserve does each of these, plus its own work, in wasm.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const init = { method: request.method, headers: request.headers };
    if (request.method !== 'GET' && request.method !== 'HEAD') init.body = new Uint8Array(await request.arrayBuffer());
    const upstream = await fetch(env.UPSTREAM + url.pathname + url.search, init);
    const type = upstream.headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) {
      const body = new Uint8Array(await upstream.arrayBuffer());
      return new Response(body, { status: upstream.status, headers: upstream.headers });
    }
    if (!type.startsWith('text/event-stream') || !upstream.body) return upstream;
    let out;
    const client = new ReadableStream({ start(c) { out = c; } });
    const reader = upstream.body.getReader();
    ctx.waitUntil((async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        out.enqueue(value);
      }
      out.close();
    })());
    return new Response(client, { status: upstream.status, headers: upstream.headers });
  },
};
