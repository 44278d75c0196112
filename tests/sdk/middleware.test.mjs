// The server middlewares: each request starts with a fresh context and a new run id, taken
// from the request when the application says how; concurrent requests stay apart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import express from 'express';
import { PKG, KEY, startServer, tick } from './helpers.mjs';

const l = await import(`${PKG}/index.mjs`);
const gateway = await startServer();
l.observe({ gatewayUrl: gateway.url, apiKey: KEY });
after(() => gateway.close());

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${server.address().port}`;
}

/** A handler of the application: sections, awaits, a call through the gateway. */
async function handle(tag) {
  await tick(Number(tag) % 3);
  return l.section('agent:support', async () => {
    l.setCustomerId(`customer-${tag}`);
    await tick(Number(tag) % 2);
    const r = await l.fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-tag': tag }, body: '{}' });
    await r.arrayBuffer();
    return l.getContext();
  });
}

async function hammer(url, n) {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    fetch(`${url}/ask`, { method: 'POST', headers: { 'x-tenant': `tenant-${i % 4}`, 'x-tag': String(i), 'content-type': 'application/json' }, body: JSON.stringify({ i }) })
      .then(async (r) => ({ i, status: r.status, ctx: await r.json() }))));
}

function checkNoBleed(results) {
  const sent = new Map(gateway.requests.splice(0).map((r) => [r.headers['x-tag'], r.headers]));
  assert.equal(new Set(results.map((r) => r.ctx.runId)).size, results.length, 'a new run id per request');
  for (const { i, status, ctx } of results) {
    assert.equal(status, 200);
    assert.deepEqual([ctx.tenantId, ctx.customerId, ctx.sectionPath], [`tenant-${i % 4}`, `customer-${i}`, 'agent:support']);
    const h = sent.get(String(i));
    assert.equal(h['x-llmobserve-tenant'], `tenant-${i % 4}`);
    assert.equal(h['x-llmobserve-customer'], `customer-${i}`);
    assert.equal(h['x-llmobserve-run-id'], ctx.runId);
  }
}

test('Express: 300 concurrent requests, each with its own context (body parser before or after)', async () => {
  for (const parserFirst of [true, false]) {
    const app = express();
    const mw = l.expressMiddleware({ context: (req) => ({ tenantId: req.get('x-tenant') }) });
    if (parserFirst) app.use(express.json(), mw); else app.use(mw, express.json());
    app.post('/ask', async (req, res) => res.json(await handle(String(req.body.i))));
    app.use((err, req, res, _next) => res.status(400).json({ error: err.message }));
    const server = createServer(app);
    const url = await listen(server);
    checkNoBleed(await hammer(url, 300));
    const bad = await fetch(`${url}/ask`, { method: 'POST', headers: { 'x-tenant': 'bad tenant' } });
    assert.equal(bad.status, 400, 'a bad value from context(req) goes to the error handler');
    assert.match((await bad.json()).error, /x-llmobserve-tenant/);
    server.closeAllConnections();
    server.close();
  }
});

test('node:http: 300 concurrent requests, each with its own context; a bad value is a 400', async () => {
  const server = createServer(l.httpHandler(async (req, res) => {
    const ctx = await handle(req.headers['x-tag']);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(ctx));
  }, { context: (req) => ({ tenantId: req.headers['x-tenant'] }) }));
  const url = await listen(server);
  checkNoBleed(await hammer(url, 300));
  const bad = await fetch(`${url}/ask`, { headers: { 'x-tenant': 'bad tenant' } });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /x-llmobserve-tenant/);
  server.closeAllConnections();
  server.close();
});

test('once a middleware is in use, code outside any request is warned about, once', async () => {
  const warnings = [];
  const onWarning = (w) => { if (w.code === 'LLMOBSERVE_NO_REQUEST_CONTEXT') warnings.push(w); };
  process.on('warning', onWarning);
  l.getContext();
  l.getContext();
  await tick(10);
  process.off('warning', onWarning);
  assert.equal(warnings.length, 1);
});
