// The reference scenario, end to end: the official `openai` client calls the real wasm
// worker under the local runtime (wrangler dev / workerd) with a real local D1, and the
// mock OpenAI upstream records what it received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';

let stack;
let appKey;

// Prices in nano-USD per token = USD per 1M tokens x 1000, from OpenAI's price list.
// gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out; gpt-4o: $2.50 / $1.25 / $10;
// gpt-4.1: $2.00 / $0.50 / $8.00.
const CALLS = [
  { tenant: 'acme-corp', customer: 'alice', model: 'gpt-4o-mini',
    section: 'agent:research_assistant/tool:search', prompt: 1200, cached: 1024, completion: 300,
    nanos: 176 * 150 + 1024 * 75 + 300 * 600 },                                   // 283_200
  { tenant: 'acme-corp', customer: 'charlie', model: 'gpt-4o',
    section: 'agent:research_assistant/step:analyze_results', prompt: 500, cached: 0, completion: 100,
    nanos: 500 * 2500 + 100 * 10000 },                                             // 2_250_000
  { tenant: 'bigco-inc', customer: 'bob', model: 'gpt-4.1',
    section: 'agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_1',
    prompt: 2000, cached: 0, completion: 50, nanos: 2000 * 2000 + 50 * 8000 },     // 4_400_000
  { tenant: 'bigco-inc', customer: 'bob', model: 'gpt-4.1',
    section: 'agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2',
    prompt: 2000, cached: 1500, completion: 50, nanos: 500 * 2000 + 1500 * 500 + 50 * 8000 }, // 2_150_000
];

function client(apiKey, extra = {}) {
  return new OpenAI({ apiKey, baseURL: `${stack.url}/v1`, maxRetries: 0, ...extra });
}

function usd(nanos) {
  const whole = Math.floor(nanos / 1e9);
  const frac = String(nanos % 1e9).padStart(9, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

before(async () => {
  stack = await startStack();
  appKey = (await stack.createKey({ name: 'research-app', scopes: ['ingest'] })).key;
});

after(async () => { await stack?.stop(); });

test('the reference scenario is priced exactly and attributed per tenant and customer', async () => {
  const openai = client(appKey);
  const runId = 'run-2026-11-28-a';
  const eventIds = [];
  for (const c of CALLS) {
    const { data, response } = await openai.chat.completions.create(
      { model: c.model, messages: [{ role: 'user', content: `question for ${c.customer}` }] },
      { headers: {
        'x-llmobserve-tenant': c.tenant,
        'x-llmobserve-customer': c.customer,
        'x-llmobserve-section': c.section,
        'x-llmobserve-run-id': runId,
        'x-mock-prompt-tokens': String(c.prompt),
        'x-mock-cached-tokens': String(c.cached),
        'x-mock-completion-tokens': String(c.completion),
      } },
    ).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.usage.prompt_tokens, c.prompt);
    assert.equal(response.headers.get('x-llmobserve-cost-usd'), usd(c.nanos));
    assert.equal(response.headers.get('x-llmobserve-pricing-status'), 'priced');
    assert.match(response.headers.get('server-timing'), /upstream;dur=\d+/);
    eventIds.push(response.headers.get('x-llmobserve-event-id'));
  }
  assert.equal(new Set(eventIds).size, CALLS.length, 'every call has its own event id');

  const acme = await stack.waitForEvents('acme-corp', (d) => d.length === 2);
  const bigco = await stack.waitForEvents('bigco-inc', (d) => d.length === 2);
  for (const [events, tenant] of [[acme, 'acme-corp'], [bigco, 'bigco-inc']]) {
    for (const e of events) {
      assert.equal(e.tenant_id, tenant);
      const c = CALLS[eventIds.indexOf(e.id)];
      assert.ok(c, `event ${e.id} was returned by a call`);
      assert.equal(c.tenant, tenant, 'an event never shows up under another tenant');
      assert.equal(e.customer_id, c.customer);
      assert.equal(e.section_path, c.section);
      assert.equal(e.run_id, runId);
      assert.equal(e.cost_nanousd, c.nanos);
      assert.equal(e.cost_usd, usd(c.nanos));
      assert.deepEqual(
        [e.usage.input_tokens, e.usage.cached_input_tokens, e.usage.output_tokens],
        [c.prompt, c.cached, c.completion]);
      assert.equal(e.usage_source, 'reported');
      assert.equal(e.pricing_status, 'priced');
      assert.equal(e.price_version, '2026-11-28');
      assert.equal(e.price_ref.split('@')[0], `openai/${c.model}`);
      assert.equal(e.status_code, 200);
      assert.ok(e.latency_ms >= 0);
    }
  }
  const retries = bigco.sort((a, b) => a.attempt - b.attempt);
  assert.deepEqual(retries.map((e) => [e.attempt, e.is_retry]), [[1, false], [2, true]]);

  // Cost, calls and latency per customer.
  const acmeCustomers = await stack.api('GET', '/tenants/acme-corp/customers', { auth: stack.adminToken });
  assert.equal(acmeCustomers.status, 200);
  const byCustomer = Object.fromEntries(acmeCustomers.json.data.map((c) => [c.customer_id, c]));
  assert.deepEqual(Object.keys(byCustomer).sort(), ['alice', 'charlie']);
  assert.equal(byCustomer.alice.cost_nanousd, CALLS[0].nanos);
  assert.equal(byCustomer.charlie.cost_usd, usd(CALLS[1].nanos));
  assert.equal(byCustomer.alice.calls, 1);
  assert.equal(typeof byCustomer.alice.avg_latency_ms, 'number');
  const bigcoCustomers = await stack.api('GET', '/tenants/bigco-inc/customers', { auth: stack.adminToken });
  assert.deepEqual(bigcoCustomers.json.data.map((c) => [c.customer_id, c.calls, c.cost_nanousd]),
    [['bob', 2, CALLS[2].nanos + CALLS[3].nanos]]);

  // Upstream saw the managed OpenAI key, never the gateway key, and no llmobserve header.
  const seen = (await stack.mock.requests()).filter((r) => r.path === '/v1/chat/completions');
  assert.equal(seen.length, CALLS.length);
  for (const r of seen) {
    assert.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('x-llmobserve-')), []);
    assert.equal(r.headers.authorization, `Bearer ${stack.upstreamApiKey}`);
    assert.ok(!JSON.stringify(r.headers).includes(appKey), 'the gateway key never goes upstream');
    assert.equal(r.headers['x-mock-prompt-tokens'] !== undefined, true, 'other headers pass through');
  }
});

test('tenant-bound read keys see only their tenant; another tenant is a 404', async () => {
  await stack.waitForEvents('bigco-inc', (d) => d.length >= 2);
  const acmeRead = (await stack.createKey({ name: 'acme-dashboard', scopes: ['read'], tenant_id: 'acme-corp' })).key;
  const own = await stack.api('GET', '/runs/latest', { auth: acmeRead });
  assert.equal(own.status, 200);
  assert.ok(own.json.data.length >= 2);
  assert.ok(own.json.data.every((e) => e.tenant_id === 'acme-corp'));
  assert.ok(!own.text.includes('bigco-inc') && !own.text.includes('"bob"'));
  for (const path of ['/runs/latest?tenant_id=bigco-inc', '/tenants/bigco-inc/customers', '/tenants/no-such-tenant/customers']) {
    const r = await stack.api('GET', path, { auth: acmeRead });
    assert.equal(r.status, 404, path);
    assert.ok(!r.text.includes('bob'), path);
  }
  // An ingest-only key cannot read at all; an unbound read needs a tenant.
  const denied = await stack.api('GET', '/runs/latest?tenant_id=acme-corp', { auth: appKey });
  assert.equal(denied.status, 403);
  const noTenant = await stack.api('GET', '/runs/latest', { auth: stack.adminToken });
  assert.equal(noTenant.status, 400);
  assert.equal(noTenant.json.error.code, 'tenant_required');
  const anon = await stack.api('GET', '/runs/latest?tenant_id=acme-corp');
  assert.equal(anon.status, 401);
});

test('calls without a valid gateway key never reach upstream', async () => {
  await stack.mock.reset();
  const revoked = await stack.createKey({ name: 'to-revoke' });
  assert.equal((await stack.api('DELETE', `/admin/keys/${revoked.id}`, { auth: stack.adminToken })).status, 200);
  const attempts = [
    client('sk-proj-a-real-looking-openai-key'),           // an OpenAI key is not a gateway key
    client(`llmo_${'0'.repeat(64)}`),                       // well-formed but unknown
    client(revoked.key),                                    // revoked
    client('ignored', { defaultHeaders: { authorization: null } }), // no credentials at all
  ];
  for (const c of attempts) {
    await assert.rejects(
      c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      (err) => {
        assert.equal(err.status, 401);
        assert.equal(err.error?.type ?? err.type, 'authentication_error');
        return true;
      });
  }
  const raw = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
  assert.equal(raw.status, 401);
  assert.match((await raw.json()).error.message, /llmo_/);
  assert.equal((await stack.mock.requests()).length, 0, 'upstream received nothing');
});

test('a key used a moment ago stops working at once when it is revoked or rotated (keys are cached per isolate)', async () => {
  const ask = (key) => client(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const refused = (err) => { assert.equal(err.status, 401); return true; };
  const doomed = await stack.createKey({ name: 'used-then-revoked' });
  await ask(doomed.key);
  await ask(doomed.key); // the second call is answered from the isolate's key cache
  assert.equal((await stack.api('DELETE', `/admin/keys/${doomed.id}`, { auth: stack.adminToken })).status, 200);
  await assert.rejects(ask(doomed.key), refused);

  const rotating = await stack.createKey({ name: 'used-then-rotated' });
  await ask(rotating.key);
  const rotated = await stack.api('POST', `/admin/keys/${rotating.id}/rotate`, { auth: stack.adminToken });
  assert.equal(rotated.status, 200);
  await assert.rejects(ask(rotating.key), refused);
  await ask(rotated.json.key);
});

test('a bad attribution header is a 400 naming the header, before anything goes upstream', async () => {
  await stack.mock.reset();
  const openai = client(appKey);
  const cases = [
    ['x-llmobserve-tenant', 'acme corp', /x-llmobserve-tenant/],
    ['x-llmobserve-section', 'agent:a//tool:b', /section 2 is empty/],
    ['x-llmobserve-customer', 'x'.repeat(129), /1 to 128 characters/],
    ['x-llmobserve-tennant', 'acme-corp', /unknown llmobserve header/],
  ];
  for (const [header, value, message] of cases) {
    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }, { headers: { [header]: value } }),
      (err) => {
        assert.equal(err.status, 400, header);
        assert.match(err.message, message);
        assert.equal(err.param, header);
        return true;
      });
  }
  assert.equal((await stack.mock.requests()).length, 0);
});

test('a tenant-bound ingest key cannot record calls for another tenant', async () => {
  await stack.mock.reset();
  const acmeIngest = (await stack.createKey({ name: 'acme-app', scopes: ['ingest'], tenant_id: 'acme-corp' })).key;
  await assert.rejects(
    client(acmeIngest).chat.completions.create(
      { model: 'gpt-4o-mini', messages: [] }, { headers: { 'x-llmobserve-tenant': 'bigco-inc' } }),
    (err) => err.status === 403 && /bound to tenant `acme-corp`/.test(err.message));
  assert.equal((await stack.mock.requests()).length, 0);
  // Without the header the call is recorded under the key's tenant.
  const { response } = await client(acmeIngest).chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] },
    { headers: { 'x-llmobserve-customer': 'dana' } }).withResponse();
  const id = response.headers.get('x-llmobserve-event-id');
  const events = await stack.waitForEvents('acme-corp', (d) => d.some((e) => e.id === id));
  assert.equal(events.find((e) => e.id === id).customer_id, 'dana');
});

test('pass-through mode forwards the caller\'s own OpenAI key untouched', async () => {
  await stack.mock.reset();
  const openai = client('sk-caller-own-key', { defaultHeaders: { 'x-llmobserve-key': appKey } });
  const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.object, 'chat.completion');
  const [seen] = await stack.mock.requests();
  assert.equal(seen.headers.authorization, 'Bearer sk-caller-own-key');
  assert.equal(seen.headers['x-llmobserve-key'], undefined);
});

test('responses pass through byte for byte, with status, headers and query', async () => {
  const direct = await fetch(`${stack.mock.url}/v1/models?limit=3&after=x`);
  const directBody = Buffer.from(await direct.arrayBuffer());
  const via = await fetch(`${stack.url}/v1/models?limit=3&after=x`, { headers: { authorization: `Bearer ${appKey}` } });
  const viaBody = Buffer.from(await via.arrayBuffer());
  assert.equal(via.status, direct.status);
  assert.ok(viaBody.equals(directBody), `${viaBody} != ${directBody}`);
  assert.equal(via.headers.get('openai-version'), direct.headers.get('openai-version'));
  assert.match(via.headers.get('x-llmobserve-event-id'), /^[0-9a-f-]{36}$/);
  const [, seen] = await stack.mock.requests().then((r) => r.slice(-2));
  assert.equal(seen.path, '/v1/models?limit=3&after=x');
  assert.equal(seen.method, 'GET');
});

test('upstream errors reach the client unchanged and are recorded unpriced', async () => {
  const openai = client(appKey);
  let eventId;
  await assert.rejects(
    openai.chat.completions.create({ model: 'gpt-4o', messages: [] },
      { headers: { 'x-mock-status': '429', 'x-llmobserve-tenant': 'errors-co' } }),
    (err) => {
      assert.equal(err.status, 429);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.equal(err.headers.get('retry-after'), '1');
      eventId = err.headers.get('x-llmobserve-event-id');
      return true;
    });
  const [e] = await stack.waitForEvents('errors-co', (d) => d.length === 1);
  assert.equal(e.id, eventId);
  assert.equal(e.status_code, 429);
  assert.equal(e.pricing_status, 'unpriced');
  assert.equal(e.cost_usd, null);
});

test('an unknown model is recorded as unpriced with a NULL cost, never $0', async () => {
  const { response } = await client(appKey).chat.completions.create(
    { model: 'acme-private-llm', messages: [{ role: 'user', content: 'hi' }] },
    { headers: { 'x-llmobserve-tenant': 'unpriced-co', 'x-llmobserve-customer': 'erin' } }).withResponse();
  assert.equal(response.headers.get('x-llmobserve-pricing-status'), 'unpriced');
  assert.equal(response.headers.get('x-llmobserve-cost-usd'), null);
  const [e] = await stack.waitForEvents('unpriced-co', (d) => d.length === 1);
  assert.equal(e.cost_nanousd, null);
  assert.equal(e.unpriced_reason, 'unknown_model');
  assert.equal(e.usage.input_tokens, 2);
  const customers = await stack.api('GET', '/tenants/unpriced-co/customers', { auth: stack.adminToken });
  assert.deepEqual(customers.json.data.map((c) => [c.customer_id, c.calls, c.unpriced_calls, c.priced_calls]),
    [['erin', 1, 1, 0]]);
});

test('health reports the database and the price registry version', async () => {
  const r = await stack.api('GET', '/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.database, 'ok');
  assert.equal(r.json.price_version, '2026-11-28');
  const page = await fetch(`${stack.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>llmobserve<\/title>/);
});
