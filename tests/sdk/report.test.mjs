// report(): events checked at the call site, completed from the context, sent in batches
// to a stand-in collector that answers in the documented format; flushed before exit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PKG, KEY, startServer, collectorAnswer, tick } from './helpers.mjs';

const l = await import(`${PKG}/index.mjs`);
const run = promisify(execFile);

let answer = collectorAnswer;
let collector;
const errors = [];
before(async () => {
  collector = await startServer((req) => answer(req));
  l.observe({ gatewayUrl: collector.url, apiKey: KEY, batchSize: 3, flushIntervalMs: 50, onError: (e) => errors.push(e) });
});
after(() => collector.close());

const event = (extra = {}) => ({ provider: 'anthropic', model: 'claude-sonnet-4-5', usage: { input_tokens: 10, output_tokens: 2 }, ...extra });

test('an event is completed from its context and sent to POST /v1/events with the key', async () => {
  const id = await l.withRun({ tenantId: 'acme-corp', customerId: 'alice', runId: 'run-9' }, () =>
    l.section('agent:a', () => l.retryBlock('call', () => l.report(event({ started_at: new Date(0), latency_ms: 12 })))));
  assert.match(id, /^[0-9a-f-]{36}$/);
  await l.flush();
  const [req] = collector.requests.splice(0);
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/events');
  assert.equal(req.headers.authorization, `Bearer ${KEY}`);
  assert.deepEqual(req.body.events, [{
    id, provider: 'anthropic', model: 'claude-sonnet-4-5', usage: { input_tokens: 10, output_tokens: 2 },
    started_at: '1970-01-01T00:00:00.000Z', latency_ms: 12, tenant_id: 'acme-corp', customer_id: 'alice',
    section: 'agent:a/retry:call:attempt_1', attempt: 1, run_id: 'run-9',
  }]);
});

test("a reported event carries the run's properties under its own", async () => {
  const id = await l.withRun({ tenantId: 'acme-corp', properties: { plan: 'pro', feature: 'chat' } }, () =>
    l.report(event({ properties: { feature: 'summary' } })));
  await l.flush();
  const [req] = collector.requests.splice(0);
  const [sent] = req.body.events;
  assert.equal(sent.id, id);
  assert.deepEqual(sent.properties, { plan: 'pro', feature: 'summary' });
});

test('mistakes throw at the call site, naming the field, and nothing is queued', async () => {
  assert.throws(() => l.report({ model: 'm' }), (e) => e instanceof l.LlmobserveError && /`provider`/.test(e.message));
  assert.throws(() => l.report(event({ usage: { prompt_tokens: 5 } })), /usage\.prompt_tokens/);
  assert.throws(() => l.report(event({ usage: { input_tokens: -1 } })), /usage\.input_tokens/);
  assert.throws(() => l.report(event({ tenant_id: 'acme corp' })), /tenant_id/);
  assert.throws(() => l.report(event({ modle: 'x' })), /`modle`: unknown field/);
  assert.throws(() => l.report('nope'), /must be an object/);
  await l.flush();
  assert.equal(collector.requests.splice(0).length, 0);
});

test('events go in batches of batchSize, and the rest after flushIntervalMs', async () => {
  const ids = Array.from({ length: 7 }, (_, i) => l.report(event({ id: `evt-${i}` })));
  assert.deepEqual(ids, ['evt-0', 'evt-1', 'evt-2', 'evt-3', 'evt-4', 'evt-5', 'evt-6']);
  // Two full batches go at once, the seventh event after flushIntervalMs (50 ms). Waiting
  // for the three requests, rather than a fixed time, keeps a loaded machine from failing it.
  for (let waited = 0; collector.requests.length < 3 && waited < 10000; waited += 20) await tick(20);
  await tick(100); // nothing more arrives after the third
  const batches = collector.requests.splice(0).map((r) => r.body.events.map((e) => e.id));
  assert.deepEqual(batches, [['evt-0', 'evt-1', 'evt-2'], ['evt-3', 'evt-4', 'evt-5'], ['evt-6']]);
});

test('a collector that is briefly unavailable gets the same batch again; rejections reach onError', async () => {
  let calls = 0;
  answer = (req) => (++calls === 1 ? { status: 503 } : {
    body: { accepted: 0, duplicates: 0, rejected: [{ index: 0, id: req.body.events[0].id, error: { code: 'invalid_event', message: 'unknown model family' } }], events: [] },
  });
  l.report(event({ id: 'evt-retry' }));
  await l.flush();
  const [first, second] = collector.requests.splice(0);
  assert.deepEqual(first.body, second.body, 'same ids, so the resend is idempotent');
  assert.equal(errors.length, 1);
  assert.match(errors.shift().message, /rejected 1 of 1 event\(s\): unknown model family/);

  answer = () => ({ status: 400, body: { error: { message: 'not a batch' } } });
  l.report(event());
  await l.flush();
  assert.equal(collector.requests.splice(0).length, 1, 'a 400 is not retried');
  assert.match(errors.shift().message, /HTTP 400: .*not a batch/);
  answer = collectorAnswer;
});

test('queued events are flushed when the process is about to exit', async () => {
  const script = `
    const l = require(${JSON.stringify(`${PKG}/index.cjs`)});
    l.observe({ gatewayUrl: ${JSON.stringify(collector.url)}, apiKey: ${JSON.stringify(KEY)}, flushIntervalMs: 60000 });
    l.withRun({ tenantId: 'exit-co' }, () => { for (let i = 0; i < 5; i++) l.report({ provider: 'openai', model: 'gpt-4o', id: 'exit-' + i }); });
  `;
  const t0 = Date.now();
  await run(process.execPath, ['-e', script]);
  assert.ok(Date.now() - t0 < 10000, 'the unref\'d timer does not hold the process for a minute');
  const [req] = collector.requests.splice(0);
  assert.deepEqual(req.body.events.map((e) => [e.id, e.tenant_id]), [0, 1, 2, 3, 4].map((i) => [`exit-${i}`, 'exit-co']));
});
