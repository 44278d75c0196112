// Failures at the edges: upstream rate limits and errors, an upstream that is down or
// too slow, and request bodies over the limit. Each is answered clearly and recorded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, freePort } from './harness.mjs';

let stack;
let key;

before(async () => {
  stack = await startStack({ vars: { UPSTREAM_TIMEOUT_MS: '1500', MAX_REQUEST_BYTES: '4096' } });
  key = (await stack.createKey({ name: 'failures-app', scopes: ['ingest'] })).key;
});
after(async () => { await stack?.stop(); });

const client = () => new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0 });
const chat = (headers, extra = {}) => client().chat.completions.create(
  { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra }, { headers });

test('a 429 passes through unchanged and is recorded with its rate-limit headers', async () => {
  const direct = await fetch(`${stack.mock.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'x-mock-status': '429', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }) });
  const directBody = await direct.text();
  let eventId;
  await assert.rejects(chat({ 'x-mock-status': '429', 'x-mock-retry-after': '7', 'x-llmobserve-tenant': 'rl-co' }), (err) => {
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.equal(err.headers.get('retry-after'), '7');
    assert.equal(err.headers.get('x-ratelimit-remaining-requests'), direct.headers.get('x-ratelimit-remaining-requests'));
    assert.equal(JSON.stringify(err.error), JSON.stringify(JSON.parse(directBody).error));
    eventId = err.headers.get('x-llmobserve-event-id');
    return true;
  });
  const [e] = await stack.waitForEvents('rl-co', (d) => d.length === 1);
  assert.equal(e.id, eventId);
  assert.equal(e.status_code, 429);
  assert.equal(e.outcome, 'completed');
  assert.equal(e.error, 'rate_limit_exceeded');
  assert.equal(e.upstream.error_type, 'requests');
  assert.equal(e.upstream.retry_after_ms, 7000);
  assert.equal(e.upstream.ratelimit.remaining_requests, 0);
  assert.equal(typeof e.upstream.ratelimit.limit_tokens, 'number');
  assert.match(e.upstream.request_id, /^req_mock_/);
  assert.equal(e.pricing_status, 'unpriced');
});

test('a 5xx passes through and is recorded with its error type', async () => {
  await assert.rejects(chat({ 'x-mock-status': '503', 'x-llmobserve-tenant': 'err5-co' }), (err) => err.status === 503);
  const [e] = await stack.waitForEvents('err5-co', (d) => d.length === 1);
  assert.equal(e.status_code, 503);
  assert.equal(e.upstream.error_type, 'server_error');
});

test('an upstream slower than UPSTREAM_TIMEOUT_MS is a 504, recorded', async () => {
  await assert.rejects(chat({ 'x-mock-latency-ms': '5000', 'x-llmobserve-tenant': 'slow-co' }), (err) => {
    assert.equal(err.status, 504);
    assert.equal(err.code, 'upstream_timeout');
    assert.match(err.message, /1500 ms/);
    return true;
  });
  const [e] = await stack.waitForEvents('slow-co', (d) => d.length === 1);
  assert.equal(e.outcome, 'upstream_timeout');
  assert.equal(e.status_code, 504);
});

test('a body over MAX_REQUEST_BYTES is a 413 and never reaches upstream', async () => {
  await stack.mock.reset();
  await assert.rejects(chat({ 'x-llmobserve-tenant': 'big-co' }, { messages: [{ role: 'user', content: 'x'.repeat(5000) }] }), (err) => {
    assert.equal(err.status, 413);
    assert.match(err.message, /4096 bytes/);
    return true;
  });
  assert.equal((await stack.mock.requests()).length, 0);
});

test('malformed JSON goes upstream as sent, and its answer comes back', async () => {
  await stack.mock.reset();
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-llmobserve-tenant': 'badjson-co' },
    body: '{"model": "gpt-4o-mini", "messages": [' });
  assert.equal(res.status, 400);
  const [seen] = await stack.mock.requests();
  assert.equal(seen.body, '{"model": "gpt-4o-mini", "messages": [');
  const [e] = await stack.waitForEvents('badjson-co', (d) => d.length === 1);
  assert.equal(e.status_code, 400);
});

test('an unreachable upstream is a 502 that names the setting to check, recorded', async () => {
  const down = await startStack({ upstreamUrl: `http://127.0.0.1:${await freePort()}` });
  try {
    const k = (await down.createKey({ name: 'down' })).key;
    const c = new OpenAI({ apiKey: k, baseURL: `${down.url}/v1`, maxRetries: 0 });
    await assert.rejects(c.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }, { headers: { 'x-llmobserve-tenant': 'down-co' } }),
      (err) => err.status === 502 && /OPENAI_BASE_URL/.test(err.message) && err.code === 'upstream_unreachable');
    const [e] = await down.waitForEvents('down-co', (d) => d.length === 1);
    assert.equal(e.outcome, 'upstream_unreachable');
  } finally {
    await down.stop();
  }
});
