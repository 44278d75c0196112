// Prices end to end: the effective registry (GET /pricing), a per-deployment override
// (PUT /pricing/{model}) that prices calls from its effective date, and a re-pricing run
// (POST /admin/reprice and scripts/reprice.sh) that recomputes recorded events from their
// raw usage and reports totals before and after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startStack, ROOT } from './harness.mjs';

const run = promisify(execFile);
let stack;
let appKey;
const TODAY = new Date().toISOString().slice(0, 10);
const TENANT = 'pricing-co';

before(async () => {
  stack = await startStack();
  appKey = (await stack.createKey({ name: 'pricing-app', scopes: ['ingest'] })).key;
});

after(async () => { await stack?.stop(); });

async function call(model, prompt, cached, completion) {
  const openai = new OpenAI({ apiKey: appKey, baseURL: `${stack.url}/v1`, maxRetries: 0 });
  const { response } = await openai.chat.completions.create(
    { model, messages: [{ role: 'user', content: 'hi' }] },
    { headers: {
      'x-llmobserve-tenant': TENANT,
      'x-mock-prompt-tokens': String(prompt),
      'x-mock-cached-tokens': String(cached),
      'x-mock-completion-tokens': String(completion),
    } },
  ).withResponse();
  return {
    id: response.headers.get('x-llmobserve-event-id'),
    cost: response.headers.get('x-llmobserve-cost-usd'),
    status: response.headers.get('x-llmobserve-pricing-status'),
  };
}

test('GET /pricing serves the effective registry, with snapshot resolution', async () => {
  const r = await stack.api('GET', '/pricing?model=gpt-4o-mini-2024-07-18&at=2026-11-28', { auth: stack.adminToken });
  assert.equal(r.status, 200);
  assert.equal(r.json.price_version, '2026-11-28');
  assert.equal(r.json.overrides, 0);
  assert.ok(r.json.registry_entries >= 150);
  assert.equal(r.json.resolved.model, 'gpt-4o-mini');
  assert.deepEqual(
    [r.json.resolved.standard.input, r.json.resolved.standard.cached_input, r.json.resolved.standard.output],
    ['0.15', '0.075', '0.6']);
  assert.equal(r.json.resolved.batch.input, '0.075');
  assert.equal(r.json.resolved.priority.output, '1');
  assert.match(r.json.resolved.source, /^https:\/\//);

  const all = await stack.api('GET', '/pricing?provider=openai', { auth: stack.adminToken });
  const dalle = all.json.data.find((e) => e.model === 'dall-e-3');
  assert.deepEqual(dalle.standard.images.find((i) => i.size === '1024x1024' && i.quality === 'hd'),
    { size: '1024x1024', quality: 'hd', usd: '0.08' });
  assert.equal(all.json.data.find((e) => e.model === 'whisper-1').standard.per_minute, '0.006');

  assert.equal((await stack.api('GET', '/pricing', { auth: appKey })).status, 403, 'an ingest-only key cannot read prices');
  assert.equal((await stack.api('GET', '/pricing')).status, 401);
});

test('an override prices calls from its date; re-pricing applies it to recorded events', async () => {
  // 1. Registry price: gpt-4o-mini $0.15 / $0.075 / $0.60: 200 x 150 + 800 x 75 + 100 x 600 nano.
  const first = await call('gpt-4o-mini', 1000, 800, 100);
  assert.equal(first.cost, '0.00015');
  assert.equal(150_000, 200 * 150 + 800 * 75 + 100 * 600);

  // 2. Only admins set prices; a bad price says what to fix.
  const body = { effective_from: TODAY, input: '0.10', cached_input: '0.05', output: '0.40', note: 'negotiated 2026' };
  assert.equal((await stack.api('PUT', '/pricing/gpt-4o-mini', { auth: appKey, body })).status, 403);
  const bad = await stack.api('PUT', '/pricing/gpt-4o-mini', { auth: stack.adminToken, body: { ...body, input: '-1' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /input: `-1` is not a decimal number/);
  const cheaper = await stack.api('PUT', '/pricing/gpt-4o-mini', { auth: stack.adminToken, body: { ...body, cached_input: '0.2' } });
  assert.equal(cheaper.status, 400);
  assert.match(cheaper.json.error.message, /cached_input costs more than input/);

  const put = await stack.api('PUT', '/pricing/gpt-4o-mini', { auth: stack.adminToken, body });
  assert.equal(put.status, 200, put.text);
  const version = put.json.price_version;
  assert.equal(version, '2026-11-28+o1');
  assert.equal(put.json.override.origin, 'override');
  assert.match(put.json.override.source, /negotiated 2026/);

  // 3. New calls use it at once: 200 x 100 + 800 x 50 + 100 x 400 = 100,000 nano.
  const second = await call('gpt-4o-mini', 1000, 800, 100);
  assert.equal(second.cost, '0.0001');
  const listed = await stack.api('GET', '/pricing?model=gpt-4o-mini', { auth: stack.adminToken });
  assert.equal(listed.json.overrides, 1);
  assert.equal(listed.json.data[0].origin, 'override');

  // 4. An unknown model is unpriced (never $0) until it gets a price.
  const privateModel = await call('acme-private-llm', 1000, 0, 1000);
  assert.equal(privateModel.status, 'unpriced');
  assert.equal(privateModel.cost, null);
  const events = await stack.waitForEvents(TENANT, (d) => d.length === 3);
  const byId = Object.fromEntries(events.map((e) => [e.id, e]));
  assert.equal(byId[first.id].price_version, '2026-11-28');
  assert.equal(byId[second.id].price_version, version);
  assert.equal(byId[second.id].price_ref, `override:openai/gpt-4o-mini@${TODAY}`);
  assert.equal(byId[privateModel.id].unpriced_reason, 'unknown_model');
  assert.equal(byId[privateModel.id].cost_usd, null);

  // 5. Price the private model ($1 / $2 per 1M), then re-price today's events.
  const priv = await stack.api('PUT', '/pricing/acme-private-llm', {
    auth: stack.adminToken, body: { effective_from: '2026-01-01', input: '1', output: '2' } });
  assert.equal(priv.status, 200, priv.text);
  const rp = await stack.api('POST', '/admin/reprice', {
    auth: stack.adminToken, body: { tenant_id: TENANT, from: TODAY, to: TODAY } });
  assert.equal(rp.status, 200, rp.text);
  const report = rp.json;
  assert.equal(report.status, 'complete');
  assert.equal(report.events, 3);
  assert.equal(report.events_changed, 3, 'every event moves to the new price version');
  assert.equal(report.priced_before, 2);
  assert.equal(report.priced_after, 3);
  // before: 150,000 + 100,000; after: 100,000 + 100,000 + (1000 x 1,000 + 1000 x 2,000).
  assert.equal(report.total_before_nanousd, 250_000);
  assert.equal(report.total_after_nanousd, 3_200_000);
  assert.equal(report.total_before_usd, '0.00025');
  assert.equal(report.total_after_usd, '0.0032');
  assert.deepEqual(report.old_price_versions, { '2026-11-28': 1, '2026-11-28+o1': 2 });
  assert.equal(report.new_price_version, '2026-11-28+o2');

  const after = await stack.waitForEvents(TENANT, (d) => d.every((e) => e.price_version === '2026-11-28+o2'));
  const now = Object.fromEntries(after.map((e) => [e.id, e]));
  assert.equal(now[first.id].cost_nanousd, 100_000);
  assert.equal(now[privateModel.id].pricing_status, 'priced');
  assert.equal(now[privateModel.id].cost_usd, '0.003');
  assert.equal(now[privateModel.id].price_ref, 'override:openai/acme-private-llm@2026-01-01');

  const again = await stack.api('GET', `/admin/reprice/${report.id}`, { auth: stack.adminToken });
  assert.equal(again.json.total_after_usd, '0.0032');
  const other = await stack.api('POST', '/admin/reprice', {
    auth: appKey, body: { tenant_id: TENANT, from: TODAY, to: TODAY } });
  assert.equal(other.status, 403);
});

test('removing an override restores the registry price; scripts/reprice.sh reports the run', async () => {
  const del = await stack.api('DELETE', `/pricing/gpt-4o-mini?effective_from=${TODAY}`, { auth: stack.adminToken });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.price_version, '2026-11-28+o3');
  const missing = await stack.api('DELETE', `/pricing/gpt-4o-mini?effective_from=${TODAY}`, { auth: stack.adminToken });
  assert.equal(missing.status, 404);

  // A model id with a slash (Groq) goes in the path percent-encoded.
  const groq = await stack.api('PUT', '/pricing/meta-llama%2Fllama-guard-9', {
    auth: stack.adminToken, body: { provider: 'groq', effective_from: '2026-01-01', input: '0.2', output: '0.2' } });
  assert.equal(groq.status, 200, groq.text);
  assert.equal(groq.json.override.model, 'meta-llama/llama-guard-9');
  // Provider aliases are stored under the registry's id, so the override matches calls.
  const gem = await stack.api('PUT', '/pricing/gemini-9-flash', {
    auth: stack.adminToken, body: { provider: 'gemini', effective_from: '2026-01-01', input: '0.1', output: '0.4' } });
  assert.equal(gem.json.override.provider, 'google');

  const { stdout } = await run('bash', [join(ROOT, 'scripts/reprice.sh'), TENANT, TODAY, TODAY], {
    env: { ...process.env, LLMOBSERVE_URL: stack.url, LLMOBSERVE_ADMIN_TOKEN: stack.adminToken } });
  const report = JSON.parse(stdout);
  assert.equal(report.status, 'complete');
  assert.equal(report.events, 3);
  // gpt-4o-mini is back at the registry price: 2 x 150,000, plus the private model's 3,000,000.
  assert.equal(report.total_before_nanousd, 3_200_000);
  assert.equal(report.total_after_nanousd, 3_300_000);
  assert.equal(report.new_price_version, '2026-11-28+o5');
});
