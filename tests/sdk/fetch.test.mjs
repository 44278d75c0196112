// observe(), the fetch wrapper and the openai one-liner, against a local stand-in gateway
// that records the headers of each request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { PKG, ROOT, KEY, startServer } from './helpers.mjs';

const l = await import(`${PKG}/index.mjs`);
const OpenAI = createRequire(`${ROOT}/package.json`)('openai');
const completion = { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] };

let gateway;
let other;
before(async () => {
  gateway = await startServer(() => ({ body: completion }));
  other = await startServer();
});
after(async () => { await gateway.close(); await other.close(); });

test('before observe(), the one-liner and report() say what is missing', () => {
  assert.throws(() => l.openaiOptions(), /observe\(\{ gatewayUrl, apiKey \}\) first/);
  assert.throws(() => l.report({ provider: 'openai', model: 'm' }), /observe/);
});

test('observe() refuses a bad configuration', () => {
  assert.throws(() => l.observe({ gatewayUrl: 'not a url', apiKey: KEY }), /gatewayUrl/);
  assert.throws(() => l.observe({ gatewayUrl: 'ftp://x', apiKey: KEY }), /http or https/);
  assert.throws(() => l.observe({ gatewayUrl: 'http://x' }), /apiKey must be a gateway key/);
  assert.throws(() => l.observe({ gatewayUrl: 'http://x', apiKey: 'sk-proj-123' }), /llmo_/);
  assert.throws(() => l.observe({ gatewayUrl: 'http://x', apiKey: KEY, batchSize: 1001 }), /batchSize/);
  assert.throws(() => l.observe({ gatewayUrl: 'http://x', apiKey: KEY, fetch: 'no' }), /fetch/);
});

test('the official openai client, pointed at the gateway in one line, sends the context headers', async () => {
  l.observe({ gatewayUrl: `${gateway.url}/v1/`, apiKey: KEY });
  const openai = new OpenAI({ ...l.openaiOptions(), maxRetries: 0 });
  assert.equal(l.openaiOptions().baseURL, `${gateway.url}/v1`, 'a trailing /v1/ is normalised');
  await l.withRun({ tenantId: 'acme-corp', customerId: 'alice', runId: 'run-7' }, () =>
    l.section('agent:research_assistant', () => l.section('tool:search', () =>
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-llmobserve-customer': 'charlie' } }))));
  const [req] = gateway.requests.splice(0);
  assert.equal(req.url, '/v1/chat/completions');
  assert.equal(req.headers.authorization, `Bearer ${KEY}`);
  assert.equal(req.headers['x-llmobserve-tenant'], 'acme-corp');
  assert.equal(req.headers['x-llmobserve-customer'], 'charlie', 'a header the call sets itself wins');
  assert.equal(req.headers['x-llmobserve-section'], 'agent:research_assistant/tool:search');
  assert.equal(req.headers['x-llmobserve-run-id'], 'run-7');
  assert.equal(req.headers['x-llmobserve-attempt'], undefined);
});

test('pass-through mode: the OpenAI key in Authorization, the gateway key in x-llmobserve-key', async () => {
  l.observe({ gatewayUrl: gateway.url, apiKey: KEY, openaiApiKey: 'sk-own-key' });
  const openai = new OpenAI({ ...l.openaiOptions(), maxRetries: 0 });
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
  const [req] = gateway.requests.splice(0);
  assert.equal(req.headers.authorization, 'Bearer sk-own-key');
  assert.equal(req.headers['x-llmobserve-key'], KEY);
  l.observe({ gatewayUrl: gateway.url, apiKey: KEY });
});

test('fetch adds the headers to gateway calls only, for every input form', async () => {
  await l.withRun({ tenantId: 'acme-corp' }, async () => {
    await l.fetch(`${gateway.url}/v1/models`);
    await l.fetch(new URL(`${gateway.url}/v1/models`), { headers: [['x-extra', '1']] });
    await l.fetch(new Request(`${gateway.url}/v1/models`, { headers: { 'x-from-request': '1' } }));
    await l.fetch(`${other.url}/elsewhere`);
  });
  const [a, b, c] = gateway.requests.splice(0);
  for (const r of [a, b, c]) assert.equal(r.headers['x-llmobserve-tenant'], 'acme-corp');
  assert.equal(b.headers['x-extra'], '1');
  assert.equal(c.headers['x-from-request'], '1', 'a Request keeps its own headers');
  const [o] = other.requests.splice(0);
  assert.deepEqual(Object.keys(o.headers).filter((h) => h.startsWith('x-llmobserve-')), [],
    'another host never sees tenant or customer ids');
});
