// Streaming through the gateway: chunk-by-chunk delivery, exact usage via include_usage
// (hidden from clients that did not ask for it), and cancelled streams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';

let stack;
let key;

before(async () => {
  stack = await startStack();
  key = (await stack.createKey({ name: 'stream-app', scopes: ['ingest'] })).key;
});
after(async () => { await stack?.stop(); });

const client = (extra = {}) => new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0, ...extra });

async function rawStream(url, headers, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
  return { res, text };
}

test('a stream without include_usage is byte for byte what upstream sends without it, and is priced exactly', async () => {
  const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] };
  const mockHeaders = { 'x-mock-prompt-tokens': '1000', 'x-mock-completion-tokens': '200', 'x-mock-reply': 'same reply both times', 'x-llmobserve-tenant': 'stream-co' };
  const direct = await rawStream(`${stack.mock.url}/v1/chat/completions`, mockHeaders, body);
  const via = await rawStream(`${stack.url}/v1/chat/completions`, { ...mockHeaders, authorization: `Bearer ${key}` }, body);
  assert.equal(via.res.status, 200);
  assert.match(via.res.headers.get('content-type'), /text\/event-stream/);
  // Completion ids count up in the mock: compare with ids normalised.
  const norm = (t) => t.replace(/chatcmpl-mock-\d+/g, 'ID').replace(/"created":\d+/g, '"created":0');
  assert.equal(norm(via.text), norm(direct.text));
  assert.ok(!via.text.includes('"usage"'), 'the client did not ask for usage and sees none');
  // Upstream was asked for usage on the client's behalf.
  const seen = (await stack.mock.requests()).at(-1);
  assert.equal(JSON.parse(seen.body).stream_options.include_usage, true);
  const [e] = await stack.waitForEvents('stream-co', (d) => d.length === 1);
  assert.equal(e.is_stream, true);
  assert.equal(e.outcome, 'completed');
  assert.equal(e.usage_source, 'reported');
  assert.deepEqual([e.usage.input_tokens, e.usage.output_tokens], [1000, 200]);
  assert.equal(e.cost_nanousd, 1000 * 150 + 200 * 600);
});

test('a client that asks for include_usage gets the usage chunk, unchanged', async () => {
  const stream = await client().chat.completions.create(
    { model: 'gpt-4.1-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] },
    { headers: { 'x-mock-prompt-tokens': '50', 'x-mock-completion-tokens': '7', 'x-llmobserve-tenant': 'stream-usage-co' } });
  let usage;
  let text = '';
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.match(text, /mock reply/);
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [50, 7]);
  const [e] = await stack.waitForEvents('stream-usage-co', (d) => d.length === 1);
  assert.equal(e.usage_source, 'reported');
  // gpt-4.1-mini: $0.40 in, $1.60 out per 1M.
  assert.equal(e.cost_nanousd, 50 * 400 + 7 * 1600);
});

test('chunks reach the client before upstream has sent the last one', async () => {
  const started = Date.now();
  const stream = await client().chat.completions.create(
    { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    { headers: { 'x-mock-chunk-delay-ms': '300', 'x-llmobserve-tenant': 'stream-timing-co' } });
  const arrivals = [];
  for await (const _ of stream) arrivals.push(Date.now() - started);
  assert.ok(arrivals.length >= 4, `${arrivals.length} chunks`);
  // The mock pauses 300 ms between events: the first chunk must arrive well before the last.
  assert.ok(arrivals.at(-1) - arrivals[0] >= 600, `arrivals ${arrivals}`);
});

test('a cancelled stream is recorded as stream_cancelled with estimated tokens, and upstream is aborted', async () => {
  const controller = new AbortController();
  const stream = await client().chat.completions.create(
    { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hello world' }] },
    { signal: controller.signal, headers: {
      'x-mock-chunk-delay-ms': '400', 'x-mock-reply': 'alpha beta gamma delta epsilon zeta eta theta',
      'x-llmobserve-tenant': 'cancel-co', 'x-llmobserve-customer': 'impatient' } });
  let received = '';
  for await (const chunk of stream) {
    received += chunk.choices[0]?.delta?.content ?? '';
    if (received.includes('beta')) {
      controller.abort();
      break;
    }
  }
  assert.equal(received, 'alpha beta');
  const [e] = await stack.waitForEvents('cancel-co', (d) => d.length === 1, { timeoutMs: 15000 });
  assert.equal(e.outcome, 'stream_cancelled');
  assert.equal(e.usage_source, 'estimated');
  assert.ok(e.usage.output_tokens >= 2 && e.usage.output_tokens < 12, `output ${e.usage.output_tokens}`);
  // 3 priming + 3 framing + "user" (1) + "hello world" (2)
  assert.equal(e.usage.input_tokens, 9);
  assert.equal(e.pricing_status, 'priced');
  assert.equal(e.cost_nanousd, e.usage.input_tokens * 2500 + e.usage.output_tokens * 10000);
});
