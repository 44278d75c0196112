// Attribution beyond the basics: property headers, explicit and implicit retries, and the
// collector for calls that did not go through the gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';

let stack;
let key;

before(async () => {
  stack = await startStack();
  key = (await stack.createKey({ name: 'attr-app', scopes: ['ingest'] })).key;
});
after(async () => { await stack?.stop(); });

const client = () => new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0 });
const report = (events, auth = key) => stack.api('POST', '/v1/events', { auth, body: { events } });

test('property headers are stored on the event and never sent upstream', async () => {
  await stack.mock.reset();
  await client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    { headers: { 'x-llmobserve-tenant': 'props-co', 'x-llmobserve-property-feature': 'summary', 'X-LLMObserve-Property-AB': 'variant-b' } });
  const [e] = await stack.waitForEvents('props-co', (d) => d.length === 1);
  assert.deepEqual(e.properties, { ab: 'variant-b', feature: 'summary' });
  const [seen] = await stack.mock.requests();
  assert.deepEqual(Object.keys(seen.headers).filter((h) => h.includes('llmobserve')), []);
});

test('the same request sent again after a 429 in the same run and section is an implicit retry', async () => {
  const headers = { 'x-llmobserve-tenant': 'retry-co', 'x-llmobserve-run-id': 'run-r1', 'x-llmobserve-section': 'agent:a/step:b' };
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'same question' }] };
  await assert.rejects(client().chat.completions.create(body, { headers: { ...headers, 'x-mock-status': '429' } }), (e) => e.status === 429);
  await stack.waitForEvents('retry-co', (d) => d.length === 1);
  await client().chat.completions.create(body, { headers });
  // A different body in the same run and section is not a retry.
  await client().chat.completions.create({ ...body, messages: [{ role: 'user', content: 'other question' }] }, { headers });
  const events = await stack.waitForEvents('retry-co', (d) => d.length === 3);
  const [failed, retried, other] = events.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id));
  assert.equal(failed.status_code, 429);
  assert.equal(failed.is_retry, false);
  assert.equal(retried.status_code, 200);
  assert.equal(retried.is_retry, true);
  assert.equal(retried.attempt, 2);
  assert.equal(retried.retry_of, failed.id);
  assert.equal(retried.request_hash, failed.request_hash);
  assert.equal(other.is_retry, false);
  assert.notEqual(other.request_hash, failed.request_hash);
});

test('explicit attempts from a retry section mark the event as a retry', async () => {
  await client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
    { headers: { 'x-llmobserve-tenant': 'explicit-co', 'x-llmobserve-section': 'agent:a/retry:llm_analysis:attempt_3' } });
  const [e] = await stack.waitForEvents('explicit-co', (d) => d.length === 1);
  assert.equal(e.attempt, 3);
  assert.equal(e.is_retry, true);
});

test('the collector prices reported events, keeps good ones next to bad ones, and is idempotent per tenant', async () => {
  const good = {
    id: 'evt-1', provider: 'openai', model: 'gpt-4o', started_at: new Date().toISOString(), latency_ms: 1200,
    usage: { input_tokens: 1000, cached_input_tokens: 400, output_tokens: 100 },
    tenant_id: 'collector-co', customer_id: 'alice', section: 'agent:offline/step:batch', run_id: 'nightly-1',
    properties: { job: 'nightly' },
  };
  const unknown = { ...good, id: 'evt-2', provider: 'acme-llm', model: 'acme-large' };
  const bad = { ...good, id: 'evt-3', usage: { input_tokens: 10, cached_input_tokens: 20 } };
  const r = await report([good, bad, unknown]);
  assert.equal(r.status, 200);
  assert.equal(r.json.accepted, 2);
  assert.equal(r.json.duplicates, 0);
  assert.deepEqual(r.json.rejected.map((x) => [x.index, x.error.param]), [[1, 'events[1].usage.cached_input_tokens']]);
  // gpt-4o: 600 x $2.50 + 400 x $1.25 + 100 x $10 per 1M = 1500000 + 500000 + 1000000 nano
  assert.equal(r.json.events[0].cost_usd, '0.003');
  assert.equal(r.json.events[1].pricing_status, 'unpriced');

  const again = await report([good]);
  assert.deepEqual([again.json.accepted, again.json.duplicates], [0, 1]);
  assert.equal(again.json.events[0].event_id, r.json.events[0].event_id);

  // Another tenant may use the same client id.
  const other = await report([{ ...good, tenant_id: 'collector-other' }]);
  assert.equal(other.json.accepted, 1);
  assert.notEqual(other.json.events[0].event_id, r.json.events[0].event_id);

  const events = await stack.waitForEvents('collector-co', (d) => d.length === 2);
  const e = events.find((x) => x.client_event_id === 'evt-1');
  assert.equal(e.cost_nanousd, 3_000_000);
  assert.equal(e.provider, 'openai');
  assert.equal(e.customer_id, 'alice');
  assert.deepEqual(e.properties, { job: 'nightly' });
  assert.equal(e.usage_source, 'reported');
  const u = events.find((x) => x.client_event_id === 'evt-2');
  assert.equal(u.cost_usd, null);
  assert.equal(u.unpriced_reason, 'unknown_model');
});

test('the collector refuses what is not a batch, and keys without the ingest scope', async () => {
  const notBatch = await stack.api('POST', '/v1/events', { auth: key, body: [{ id: 'x' }] });
  assert.equal(notBatch.status, 400);
  assert.equal(notBatch.json.error.code, 'invalid_batch');
  const reader = (await stack.createKey({ name: 'reader', scopes: ['read'] })).key;
  const denied = await report([], reader);
  assert.equal(denied.status, 403);
  const bound = (await stack.createKey({ name: 'acme', scopes: ['ingest'], tenant_id: 'acme-corp' })).key;
  const r = await report([{ id: 'e', provider: 'openai', model: 'gpt-4o', started_at: Date.now(), tenant_id: 'bigco-inc' },
    { id: 'f', provider: 'openai', model: 'gpt-4o', started_at: Date.now() }], bound);
  assert.equal(r.json.accepted, 1);
  assert.equal(r.json.rejected[0].error.code, 'tenant_mismatch');
  const acme = await stack.waitForEvents('acme-corp', (d) => d.length === 1);
  assert.equal(acme[0].client_event_id, 'f');
  assert.equal(acme[0].usage_source, 'missing');
  assert.equal(acme[0].unpriced_reason, 'no_usage');
});
