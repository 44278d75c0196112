// The whole OpenAI API through the gateway: every endpoint's answer is what the mock
// upstream sends when called directly (apart from llmobserve's own headers), every
// stream shape is observed correctly, and each call leaves one event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { startStack } from './harness.mjs';

let stack;
let key;

before(async () => {
  stack = await startStack();
  key = (await stack.createKey({ name: 'endpoints-app', scopes: ['ingest'] })).key;
});
after(async () => { await stack?.stop(); });

const client = (tenant) => new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0,
  defaultHeaders: { 'x-llmobserve-tenant': tenant } });

// Headers that legitimately differ between two calls, or that the gateway adds.
// content-encoding: the local runtime compresses responses for clients that accept it (bodies are compared decoded).
const VOLATILE = new Set(['date', 'content-encoding', 'x-request-id', 'openai-processing-ms', 'content-length', 'server-timing',
  'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens', 'transfer-encoding', 'connection', 'keep-alive']);
const ID_LIKE = /(chatcmpl|cmpl|resp|msg|modr|file|batch|ftjob|embd|img)[-_]mock[-_]?\d+|"created(_at)?":\s*\d+|mock reply \d+|req_mock_\d+/g;

function comparableHeaders(h) {
  return [...h.entries()].filter(([k]) => !VOLATILE.has(k) && !k.startsWith('x-llmobserve-')).sort();
}

async function both(method, path, { headers = {}, body } = {}) {
  const init = () => ({ method, headers: { ...headers }, body: typeof body === 'function' ? body() : body });
  const direct = await fetch(`${stack.mock.url}${path}`, init());
  const directBody = Buffer.from(await direct.arrayBuffer());
  const viaInit = init();
  viaInit.headers = { ...viaInit.headers, authorization: `Bearer ${key}`, 'x-llmobserve-tenant': 'parity-co' };
  const via = await fetch(`${stack.url}${path}`, viaInit);
  const viaBody = Buffer.from(await via.arrayBuffer());
  return { direct, directBody, via, viaBody };
}

function sameResponse({ direct, directBody, via, viaBody }, label) {
  assert.equal(via.status, direct.status, label);
  assert.deepEqual(comparableHeaders(via.headers), comparableHeaders(direct.headers), label);
  assert.match(via.headers.get('x-llmobserve-event-id') ?? '', /^[0-9a-f-]{36}$/, label);
  assert.match(via.headers.get('server-timing') ?? '', /upstream;dur=/, label);
  const isText = /json|text|event-stream/.test(direct.headers.get('content-type') ?? '');
  if (isText) {
    assert.equal(viaBody.toString('utf8').replace(ID_LIKE, 'X'), directBody.toString('utf8').replace(ID_LIKE, 'X'), label);
  } else {
    assert.ok(viaBody.equals(directBody), `${label}: binary body differs`);
  }
}

function multipart(fields, file) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.name, new Blob([file.bytes], { type: file.type }), file.filename);
  return form;
}

test('every endpoint answers through the gateway exactly as upstream does directly', async () => {
  const json = (b) => ({ headers: { 'content-type': 'application/json', 'x-mock-reply': 'fixed reply' }, body: JSON.stringify(b) });
  const cases = [
    ['POST', '/v1/chat/completions', json({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })],
    ['POST', '/v1/chat/completions', json({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] })],
    ['POST', '/v1/chat/completions', json({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] })],
    ['POST', '/v1/completions', json({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' })],
    ['POST', '/v1/completions', json({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', stream: true })],
    ['POST', '/v1/responses', json({ model: 'gpt-4.1', input: 'hello' })],
    ['POST', '/v1/responses', json({ model: 'gpt-4.1', input: 'hello', stream: true })],
    ['POST', '/v1/embeddings', json({ model: 'text-embedding-3-small', input: ['a', 'b'] })],
    ['POST', '/v1/images/generations', json({ model: 'dall-e-3', prompt: 'a cat', size: '1024x1024', n: 1 })],
    ['POST', '/v1/audio/speech', json({ model: 'tts-1', input: 'hello there', voice: 'alloy' })],
    ['POST', '/v1/moderations', json({ model: 'omni-moderation-latest', input: 'hello' })],
    ['GET', '/v1/models', {}],
    ['GET', '/v1/models/gpt-4o?x=1', {}],
    ['POST', '/v1/audio/transcriptions', { body: () => multipart({ model: 'whisper-1' }, { name: 'file', filename: 'a.mp3', type: 'audio/mpeg', bytes: new Uint8Array(32000).fill(7) }) }],
    ['POST', '/v1/images/edits', { body: () => multipart({ model: 'gpt-image-1', prompt: 'add a hat', n: '2', size: '1024x1024', quality: 'low' }, { name: 'image', filename: 'a.png', type: 'image/png', bytes: new Uint8Array(1000).fill(1) }) }],
    ['POST', '/v1/files', { body: () => multipart({ purpose: 'batch' }, { name: 'file', filename: 'b.jsonl', type: 'application/jsonl', bytes: new TextEncoder().encode('{"custom_id":"1"}\n') }) }],
    ['POST', '/v1/batches', json({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' })],
    ['POST', '/v1/fine_tuning/jobs', json({ model: 'gpt-4o-mini-2024-07-18', training_file: 'file-1' })],
    ['POST', '/v1/chat/completions', { headers: { 'content-type': 'application/json', 'x-mock-status': '429' }, body: JSON.stringify({ model: 'gpt-4o', messages: [] }) }],
    ['POST', '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '{"model": "gpt-4o", "messages": [' }],
  ];
  for (const [method, path, opts] of cases) {
    const label = `${method} ${path} ${opts.body && typeof opts.body === 'string' ? opts.body.slice(0, 60) : ''}`;
    sameResponse(await both(method, path, opts), label);
  }
  const events = await stack.waitForEvents('parity-co', (d) => d.length === cases.length, { timeoutMs: 60000 });
  assert.equal(events.length, cases.length, 'one event per call');
});

test('the multipart upload reaches upstream byte for byte', async () => {
  await stack.mock.reset();
  const bytes = new Uint8Array(200_000).map((_, i) => (i * 31) % 256);
  const form = () => multipart({ purpose: 'batch' }, { name: 'file', filename: 'big.bin', type: 'application/octet-stream', bytes });
  const { via } = await both('POST', '/v1/files', { body: form });
  assert.equal(via.status, 200);
  const [direct, proxied] = await stack.mock.requests();
  assert.equal(proxied.body_length, direct.body_length);
  assert.ok(proxied.body_length > 200_000);
});

test('Responses API calls are priced, streamed or not', async () => {
  const openai = client('responses-co');
  const r = await openai.responses.create({ model: 'gpt-4.1', input: 'hello' },
    { headers: { 'x-mock-prompt-tokens': '100', 'x-mock-completion-tokens': '20', 'x-mock-cached-tokens': '40' } });
  assert.equal(r.object, 'response');
  const stream = await openai.responses.create({ model: 'gpt-4.1', input: 'hello', stream: true },
    { headers: { 'x-mock-prompt-tokens': '10', 'x-mock-completion-tokens': '5' } });
  let text = '';
  for await (const ev of stream) if (ev.type === 'response.output_text.delta') text += ev.delta;
  assert.ok(text.length > 0);
  const events = await stack.waitForEvents('responses-co', (d) => d.length === 2);
  const [plain, streamed] = events.sort((a, b) => Number(a.is_stream) - Number(b.is_stream));
  // gpt-4.1: $2 in, $0.50 cached, $8 out per 1M
  assert.equal(plain.cost_nanousd, 60 * 2000 + 40 * 500 + 20 * 8000);
  assert.equal(streamed.usage_source, 'reported');
  assert.equal(streamed.outcome, 'completed');
  assert.equal(streamed.cost_nanousd, 10 * 2000 + 5 * 8000);
});

test('legacy completions stream with hidden usage, and embeddings, are priced', async () => {
  const openai = client('legacy-co');
  const s = await openai.completions.create({ model: 'gpt-3.5-turbo', prompt: 'Say hi', stream: true },
    { headers: { 'x-mock-prompt-tokens': '30', 'x-mock-completion-tokens': '10' } });
  for await (const chunk of s) assert.equal(chunk.usage, undefined, 'no usage the client did not ask for');
  await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' }, { headers: { 'x-mock-prompt-tokens': '1000' } });
  const events = await stack.waitForEvents('legacy-co', (d) => d.length === 2);
  const completion = events.find((e) => e.endpoint === '/v1/completions');
  const embedding = events.find((e) => e.endpoint === '/v1/embeddings');
  // gpt-3.5-turbo: $0.50 in, $1.50 out; text-embedding-3-small: $0.02 per 1M
  assert.equal(completion.cost_nanousd, 30 * 500 + 10 * 1500);
  assert.equal(completion.usage_source, 'reported');
  assert.equal(embedding.cost_nanousd, 1000 * 20);
});

test('awkward stream framing is observed exactly: split UTF-8, CRLF, CR, no space, no [DONE]', async () => {
  const shapes = [
    { 'x-mock-split-utf8': '1' },
    { 'x-mock-line-ending': 'crlf', 'x-mock-split-utf8': '1' },
    { 'x-mock-line-ending': 'cr' },
    { 'x-mock-data-nospace': '1', 'x-mock-no-done': '1' },
  ];
  for (const [i, shape] of shapes.entries()) {
    const tenant = `framing-${i}`;
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const headers = { 'content-type': 'application/json', 'x-mock-prompt-tokens': '11', 'x-mock-completion-tokens': '7', 'x-mock-reply': 'fixed words here', ...shape };
    const direct = Buffer.from(await (await fetch(`${stack.mock.url}/v1/chat/completions`, { method: 'POST', headers, body })).arrayBuffer());
    const via = Buffer.from(await (await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST',
      headers: { ...headers, authorization: `Bearer ${key}`, 'x-llmobserve-tenant': tenant }, body })).arrayBuffer());
    assert.equal(via.toString('utf8').replace(ID_LIKE, 'X'), direct.toString('utf8').replace(ID_LIKE, 'X'), JSON.stringify(shape));
    const [e] = await stack.waitForEvents(tenant, (d) => d.length === 1);
    assert.deepEqual([e.usage_source, e.usage.input_tokens, e.usage.output_tokens, e.outcome], ['reported', 11, 7, 'completed'], JSON.stringify(shape));
  }
});

test('an upstream that drops the stream mid-way is recorded as interrupted with an estimate', async () => {
  const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-llmobserve-tenant': 'drop-co',
      'x-mock-drop-after': '3', 'x-mock-reply': 'one two three four five six' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
  await res.arrayBuffer().catch(() => {});
  const [e] = await stack.waitForEvents('drop-co', (d) => d.length === 1);
  assert.equal(e.outcome, 'stream_interrupted');
  assert.equal(e.usage_source, 'estimated');
  assert.ok(e.usage.output_tokens >= 1);
});

test('a client that walks away from an endless stream makes the gateway abort upstream', async () => {
  await stack.mock.reset();
  const controller = new AbortController();
  const stream = await client('endless-co').chat.completions.create(
    { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    { signal: controller.signal, headers: { 'x-mock-endless': '1', 'x-mock-chunk-delay-ms': '50' } });
  let chunks = 0;
  for await (const _ of stream) if (++chunks === 5) { controller.abort(); break; }
  const [e] = await stack.waitForEvents('endless-co', (d) => d.length === 1, { timeoutMs: 15000 });
  assert.equal(e.outcome, 'stream_cancelled');
  // Upstream saw its client (the gateway) go away, and stopped sending.
  let seen;
  for (let i = 0; i < 50; i++) {
    [seen] = await stack.mock.requests();
    if (seen.client_disconnected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen.client_disconnected, true);
  const sent = seen.stream_events_sent;
  await new Promise((r) => setTimeout(r, 500));
  const [later] = await stack.mock.requests();
  assert.equal(later.stream_events_sent, sent, 'upstream stopped sending');
  assert.ok(sent < 60, `upstream sent ${sent} events`);
});

test('garbage from upstream passes through and is recorded without usage', async () => {
  const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-llmobserve-tenant': 'garbage-co', 'x-mock-garbage': '1' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }) });
  const direct = await fetch(`${stack.mock.url}/v1/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-garbage': '1' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }) });
  assert.equal(await res.text(), await direct.text());
  const [e] = await stack.waitForEvents('garbage-co', (d) => d.length === 1);
  assert.equal(e.usage_source, 'missing');
  assert.equal(e.pricing_status, 'unpriced');
});

test('images, audio, speech and moderations are priced by their own units', async () => {
  const openai = client('units-co');
  // DALL-E 3, HD, 1792x1024: $0.12 per image.
  await openai.images.generate({ model: 'dall-e-3', prompt: 'a cat', size: '1792x1024', quality: 'hd', n: 1 });
  // whisper-1: $0.006 per minute; 90 s of audio.
  await openai.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.alloc(1000), 'a.mp3') },
    { headers: { 'x-mock-audio-seconds': '90' } });
  // tts-1: $15 per 1M characters; "hello there" is 11 characters.
  const speech = await openai.audio.speech.create({ model: 'tts-1', input: 'hello there', voice: 'alloy' });
  assert.ok((await speech.arrayBuffer()).byteLength > 0);
  // Moderation is free: priced, at $0.
  await openai.moderations.create({ model: 'omni-moderation-latest', input: 'hello' });
  // GPT Image: text input, image input and image output tokens, as upstream reports them.
  const direct = await (await fetch(`${stack.mock.url}/v1/images/generations`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-image-1', prompt: 'a cat', size: '1024x1024', quality: 'low' }) })).json();
  await openai.images.generate({ model: 'gpt-image-1', prompt: 'a cat', size: '1024x1024', quality: 'low' });

  const events = await stack.waitForEvents('units-co', (d) => d.length === 5, { timeoutMs: 15000 });
  const by = (endpoint, model) => events.find((e) => e.endpoint === endpoint && e.model?.startsWith(model));
  assert.equal(by('/v1/images/generations', 'dall-e-3').cost_nanousd, 120_000_000);
  assert.equal(by('/v1/audio/transcriptions', 'whisper-1').cost_nanousd, 9_000_000);
  assert.equal(by('/v1/audio/speech', 'tts-1').cost_nanousd, 11 * 15_000);
  const mod = by('/v1/moderations', 'omni-moderation');
  assert.deepEqual([mod.pricing_status, mod.cost_nanousd], ['priced', 0]);
  // gpt-image-1: $5 text in, $10 image in, $40 image out per 1M tokens.
  const u = direct.usage;
  const textIn = u.input_tokens_details?.text_tokens ?? u.input_tokens;
  const imageIn = u.input_tokens_details?.image_tokens ?? 0;
  assert.equal(by('/v1/images/generations', 'gpt-image-1').cost_nanousd, textIn * 5000 + imageIn * 10000 + u.output_tokens * 40000);
});

test('a finished batch is billed once, at the Batch discount, however often it is polled', async () => {
  const openai = client('batch-co');
  const batch = await openai.batches.create({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' });
  const poll = { headers: { 'x-mock-batch-model': 'gpt-4o-mini', 'x-mock-prompt-tokens': '1000', 'x-mock-completion-tokens': '200' } };
  for (let i = 0; i < 3; i++) assert.equal((await openai.batches.retrieve(batch.id, poll)).status, 'completed');
  const events = await stack.waitForEvents('batch-co', (d) => d.length === 5);
  const billed = events.filter((e) => e.cost_nanousd > 0);
  assert.equal(billed.length, 1, 'one billing event for the batch');
  const [b] = billed;
  assert.equal(b.client_event_id, batch.id);
  assert.equal(b.method, 'BATCH');
  // gpt-4o-mini at the Batch tier: half of $0.15 in and $0.60 out per 1M.
  assert.equal(b.cost_nanousd, (1000 * 150 + 200 * 600) / 2);
  assert.match(b.price_ref, /#batch/);
  const calls = events.filter((e) => e.method !== 'BATCH');
  assert.equal(calls.length, 4);
  assert.ok(calls.every((e) => e.cost_nanousd === null), 'creating and polling a batch costs nothing itself');
});
