// Shared by the SDK's JavaScript tests: the built package, and small local servers that
// stand in for the gateway (recording each request's headers) and the collector.
import { createServer } from 'node:http';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The package as scripts/build-sdk.sh assembled it. */
export const PKG = resolve(ROOT, 'sdk-wasm/pkg');
export const KEY = `llmo_${'ab'.repeat(32)}`;

/**
 * A local HTTP server. `handle(req, body)` returns { status, headers, body } (default 200
 * `{}`); every request is recorded with its headers and parsed JSON body.
 */
export async function startServer(handle = () => ({})) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString();
      let json;
      try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
      const rec = { method: req.method, url: req.url, headers: req.headers, body: json };
      requests.push(rec);
      const out = (await handle(rec)) ?? {};
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...(out.headers ?? {}) });
      res.end(JSON.stringify(out.body ?? {}));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/** A collector that accepts every event, answering in the documented format. */
export function collectorAnswer({ body }) {
  const events = body?.events ?? [];
  return { body: { accepted: events.length, duplicates: 0, rejected: [],
    events: events.map((e, index) => ({ index, id: e.id, event_id: `ev-${index}`, pricing_status: 'priced' })) } };
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
