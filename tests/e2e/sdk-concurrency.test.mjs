// The SDK under a server's load, end to end: 1,000 concurrent requests to an Express app
// that uses the SDK and the official openai client. Each request runs two sections side by
// side; one of them calls through the real gateway (wasm worker under wrangler dev, local
// D1) to the mock upstream: a search, or an analysis in a retry block whose first attempt
// is rate limited in every tenth request. Every stored event must have exactly the tenant,
// customer, section path and run id of the request that made it: zero bleed. The app keeps
// at most IN_FLIGHT calls open, as a connection pool would: the local runtime serves about
// 25 calls a second whatever the concurrency, and drops connections when far more are open.
// A request waits for a free slot with its context intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';
import * as llmobserve from '../../sdk-wasm/pkg/index.mjs';
import { express, allEvents } from '../sdk/stack-helpers.mjs';

const REQUESTS = 1000;
const TENANTS = ['acme-corp', 'bigco-inc', 'initech'];
const CUSTOMERS = ['alice', 'bob', 'charlie', 'dana', 'erin'];
const IN_FLIGHT = 16;
const { section, retryBlock, getContext } = llmobserve;
const searches = (i) => i % 2 === 0;
const rateLimited = (i) => i % 10 === 1;

let stack;
let server;
let appUrl;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  stack = await startStack();
  const key = (await stack.createKey({ name: 'sdk-app', scopes: ['ingest'] })).key;
  llmobserve.observe({ gatewayUrl: stack.url, apiKey: key });
  const openai = new OpenAI({ ...llmobserve.openaiOptions(), maxRetries: 0, timeout: 120_000 });

  let active = 0;
  const waiting = [];
  /** One chat completion; returns what this call was made as and the gateway's event id. */
  async function call(content, headers = {}) {
    while (active >= IN_FLIGHT) await new Promise((r) => waiting.push(r));
    active++;
    try {
      return await callNow(content, headers);
    } finally {
      active--;
      waiting.shift()?.();
    }
  }
  async function callNow(content, headers) {
    const ctx = getContext();
    const made = { section: ctx.sectionPath, tenant: ctx.tenantId, customer: ctx.customerId };
    try {
      const { response } = await openai.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }, { headers })
        .withResponse();
      return { ...made, status: 200, eventId: response.headers.get('x-llmobserve-event-id') };
    } catch (err) {
      err.made = { ...made, status: err.status, eventId: err.headers?.get('x-llmobserve-event-id') };
      throw err;
    }
  }

  const app = express();
  app.use(express.json());
  app.use(llmobserve.expressMiddleware({
    context: (req) => ({ tenantId: req.get('x-app-tenant'), customerId: req.get('x-app-customer') }),
  }));
  app.post('/research', async (req, res) => {
    const { i } = req.body;
    const calls = [];
    await section('agent:research_assistant', async () => {
      await sleep(i % 4);
      await Promise.all([
        section('tool:search', async () => {
          await sleep(i % 3);
          if (searches(i)) calls.push(await call(`search ${i}`));
        }),
        section('step:analyze_results', async () => {
          await sleep((i * 7) % 3);
          if (searches(i)) return;
          const result = await retryBlock('llm_analysis', async ({ attempt }) => {
            try {
              const fail = rateLimited(i) && attempt === 1 ? { 'x-mock-status': '429', 'x-mock-retry-after': '0' } : {};
              return await call(`analyze ${i}`, fail);
            } catch (err) {
              if (err.made) calls.push(err.made);
              throw err;
            }
          }, { baseDelayMs: 1, maxDelayMs: 20 });
          calls.push(result);
        }),
      ]);
    });
    res.json({ runId: getContext().runId, calls });
  });
  server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  appUrl = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server?.closeAllConnections();
  server?.close();
  await stack?.stop();
});

test('1,000 concurrent requests across tenants and customers: every event is its own request\'s', async () => {
  const t0 = Date.now();
  const responses = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => {
    const tenant = TENANTS[i % TENANTS.length];
    const customer = CUSTOMERS[i % CUSTOMERS.length];
    const r = await fetch(`${appUrl}/research`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-app-tenant': tenant, 'x-app-customer': customer },
      body: JSON.stringify({ i }),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return { i, tenant, customer, ...JSON.parse(text) };
  }));
  const served = Date.now() - t0;

  // What each request believed it sent.
  const byEvent = new Map();
  for (const r of responses) {
    const analysis = (n) => `agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_${n}`;
    const want = searches(r.i) ? ['agent:research_assistant/tool:search 200']
      : rateLimited(r.i) ? [`${analysis(1)} 429`, `${analysis(2)} 200`] : [`${analysis(1)} 200`];
    assert.deepEqual(r.calls.map((c) => `${c.section} ${c.status}`).sort(), want, `request ${r.i}`);
    for (const c of r.calls) {
      assert.equal(c.tenant, r.tenant);
      assert.equal(c.customer, r.customer);
      assert.ok(c.eventId, `request ${r.i}: the gateway returned an event id`);
      byEvent.set(c.eventId, { ...c, request: r });
    }
  }
  assert.equal(new Set(responses.map((r) => r.runId)).size, REQUESTS, 'a new run id per request');

  // What the gateway stored: each event has exactly its own request's attribution.
  let stored = 0;
  for (const tenant of TENANTS) {
    const want = [...byEvent.values()].filter((c) => c.request.tenant === tenant).length;
    const events = await allEvents(stack, tenant, want);
    assert.equal(events.length, want, `${tenant}: one event per call`);
    for (const e of events) {
      const c = byEvent.get(e.id);
      assert.ok(c, `event ${e.id} was made by one of the requests`);
      assert.equal(e.tenant_id, c.request.tenant);
      assert.equal(e.customer_id, c.request.customer);
      assert.equal(e.section_path, c.section);
      assert.equal(e.run_id, c.request.runId);
      assert.equal(e.status_code, c.status);
      const attempt = c.section.match(/:attempt_(\d+)$/)?.[1];
      assert.equal(e.attempt, attempt === undefined ? null : Number(attempt));
      assert.equal(e.is_retry, attempt !== undefined && Number(attempt) > 1);
    }
    stored += events.length;
  }
  assert.equal(stored, byEvent.size);
  console.log(`# ${REQUESTS} requests, ${stored} gateway calls served in ${served} ms; all events checked`);
});
