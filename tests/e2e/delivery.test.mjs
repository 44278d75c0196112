// No event lost, none counted twice (docs/delivery.md), in both write modes: queue
// messages delivered twice leave one row; retry facts are the same whatever order the
// events are written in; and under load with faults injected (D1 failing for a while,
// upstream dropping streams and cutting bodies, clients aborting before the first byte
// and mid-stream, upstream garbage, 429s and 5xx) the mock upstream's own ledger equals
// what llmobserve recorded, event for event and nano-USD for nano-USD.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { plan, runLoad, storedEvents, reconcile, printReport, callsOf } from './load.mjs';
import { dumpD1 } from './d1.mjs';
import { checkResponse } from './openapi.mjs';

const FAULTS = { LLMOBSERVE_FAULT_INJECTION: 'allow-test-faults' };
const CALLS = { queue: Number(process.env.DELIVERY_CALLS ?? 1200), direct: Number(process.env.DELIVERY_DIRECT_CALLS ?? 500) };
const CONCURRENCY = 32;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function faults(stack, body) {
  const r = await stack.api('POST', '/__test/faults', { auth: stack.adminToken, body });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Polls the tenant's rows in D1 until `pred(rows)` holds (events are written after the response). */
async function waitRows(stack, tenant, pred, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await storedEvents(stack.stateDir, tenant);
    if (pred(rows)) return rows;
    if (Date.now() > deadline) return rows;
    await sleep(500);
  }
}

async function chat(stack, key, headers, body = {}) {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'same request' }], ...body }),
  });
  await res.arrayBuffer();
  return { status: res.status, id: res.headers.get('x-llmobserve-event-id') };
}

for (const mode of ['queue', 'direct']) {
  describe(`EVENT_WRITE_MODE=${mode}`, () => {
    let stack;
    let key;
    before(async () => {
      stack = await startStack({ vars: { EVENT_WRITE_MODE: mode, ...FAULTS } });
      key = (await stack.createKey({ name: `delivery-${mode}`, scopes: ['ingest'] })).key;
    });
    after(async () => { await stack?.stop(); });

    test('/health shows the write mode and the counters of events not written', async () => {
      const h = await stack.api('GET', '/health');
      assert.equal(h.status, 200);
      assert.deepEqual(h.json.ingest, { write_mode: mode, unwritten_events: 0, unwritten_events_this_isolate: 0, deferred_to_queue_this_isolate: 0 });
      assert.deepEqual(checkResponse('GET', '/health', h.status, h.headers.get('content-type'), h.text), []);
    });

    test('events written while D1 fails for a while are all recorded once D1 is back', async () => {
      const tenant = `outage-${mode}`;
      await faults(stack, { d1_down_ms: 2500 });
      const sent = [];
      for (let i = 0; i < 6; i++) sent.push(await chat(stack, key, { 'x-llmobserve-tenant': tenant, 'x-mock-completion-tokens': String(10 + i) }));
      assert.ok(sent.every((s) => s.status === 200));
      const rows = await waitRows(stack, tenant, (r) => r.length >= 6);
      assert.deepEqual(rows.map((r) => r.id).sort(), sent.map((s) => s.id).sort());
      assert.deepEqual(rows.map((r) => r.output_tokens).sort(), [10, 11, 12, 13, 14, 15]);
      const h = await stack.api('GET', '/health');
      assert.equal(h.json.ingest.unwritten_events_this_isolate, 0);
      // Direct mode hands what D1 refused to the queue; queue mode never wrote directly.
      if (mode === 'direct') assert.ok(h.json.ingest.deferred_to_queue_this_isolate >= 6, JSON.stringify(h.json.ingest));
      else assert.equal(h.json.ingest.deferred_to_queue_this_isolate, 0);
    });

    test('the same queue message delivered twice leaves one row', async () => {
      const tenant = `twice-${mode}`;
      await faults(stack, { duplicate_queue_sends: true, ...(mode === 'direct' ? { d1_down_ms: 1500 } : {}) });
      try {
        const sent = [];
        for (let i = 0; i < 4; i++) sent.push(await chat(stack, key, { 'x-llmobserve-tenant': tenant }));
        const rows = await waitRows(stack, tenant, (r) => r.length >= 4);
        await sleep(3000); // the second copies are consumed too
        const again = await storedEvents(stack.stateDir, tenant);
        assert.equal(rows.length, 4);
        assert.deepEqual(again.map((r) => r.id).sort(), sent.map((s) => s.id).sort());
      } finally {
        await faults(stack, { duplicate_queue_sends: false, d1_down_ms: 0 });
      }
    });

    test('a poison event does not hold back the events written with it, and is retried until it can be written', async () => {
      const poison = `poison-${mode}`;
      const tenant = `neighbors-${mode}`;
      await faults(stack, { poison_tenant: poison });
      let bad;
      try {
        // Sent together, so that they share writes (group commit) and consumer batches:
        // a write that includes the poison event fails as a whole.
        const all = await Promise.all([
          chat(stack, key, { 'x-llmobserve-tenant': poison }),
          ...Array.from({ length: 8 }, () => chat(stack, key, { 'x-llmobserve-tenant': tenant })),
        ]);
        bad = all[0];
        const sent = all.slice(1);
        assert.ok(all.every((s) => s.status === 200));
        const rows = await waitRows(stack, tenant, (r) => r.length >= 8, 30_000);
        assert.deepEqual(rows.map((r) => r.id).sort(), sent.map((s) => s.id).sort());
        assert.deepEqual(await storedEvents(stack.stateDir, poison), [], 'not written while D1 refuses it');
      } finally {
        await faults(stack, { poison_tenant: '' });
      }
      // Retried from the queue, not dropped: written once D1 takes it.
      const later = await waitRows(stack, poison, (r) => r.length >= 1, 60_000);
      assert.deepEqual(later.map((r) => r.id), [bad.id]);
      assert.equal((await stack.api('GET', '/health')).json.ingest.unwritten_events_this_isolate, 0);
    });

    test('retry facts are those of in-order writes when the failed attempt is written after its retry', async () => {
      const tenant = `retries-${mode}`;
      const h = { 'x-llmobserve-tenant': tenant, 'x-llmobserve-run-id': `run-${mode}`, 'x-llmobserve-section': 'agent:a/step:b' };
      // The two failures are written while D1 is down: they reach D1 through the queue,
      // after the success that retried them has been written.
      await faults(stack, { d1_down_ms: 3000 });
      const first = await chat(stack, key, { ...h, 'x-mock-status': '429' });
      await sleep(20);
      const second = await chat(stack, key, { ...h, 'x-mock-status': '500' });
      await sleep(3200);
      const third = await chat(stack, key, h);
      assert.deepEqual([first.status, second.status, third.status], [429, 500, 200]);
      const rows = await waitRows(stack, tenant, (r) => r.length >= 3 && r.some((x) => x.id === first.id));
      const by = Object.fromEntries(rows.map((r) => [r.id, r]));
      assert.equal(rows.length, 3);
      assert.deepEqual([by[first.id].attempt, by[first.id].is_retry, by[first.id].retry_of], [null, 0, null]);
      assert.deepEqual([by[second.id].attempt, by[second.id].is_retry, by[second.id].retry_of], [2, 1, first.id]);
      assert.deepEqual([by[third.id].attempt, by[third.id].is_retry, by[third.id].retry_of], [3, 1, second.id]);
    });

    test('an upstream reporting absurd usage cannot make its event unwritable', async () => {
      const tenant = `absurd-${mode}`;
      const sent = await chat(stack, key, { 'x-llmobserve-tenant': tenant, 'x-mock-prompt-tokens': '18446744073709551615', 'x-mock-completion-tokens': '3' });
      assert.equal(sent.status, 200);
      const [row] = await waitRows(stack, tenant, (r) => r.length === 1, 30_000);
      assert.equal(row?.id, sent.id);
      assert.equal(row.input_tokens, 2 ** 53 - 1);
      assert.equal(row.output_tokens, 3);
    });

    test(`reconciliation: ${CALLS[mode]} mixed calls from ${CONCURRENCY} clients with faults injected`, { timeout: Math.max(300_000, CALLS[mode] * 500) }, async () => {
      const tenant = `load-${mode}`;
      const calls = plan(CALLS[mode], mode === 'queue' ? 10 : 11);
      if (mode === 'queue') await faults(stack, { duplicate_queue_sends: true });
      // D1 fails twice during the run, for 3 s and for 2 s.
      const outages = [[0.2, 3000], [0.6, 2000]];
      const { results, seconds } = await runLoad({
        url: stack.url, key, tenant, calls, concurrency: CONCURRENCY,
        onProgress: async (done, total) => {
          for (const o of outages) if (!o.fired && done >= total * o[0]) { o.fired = true; await faults(stack, { d1_down_ms: o[1] }); }
        },
      });
      // The clients are done, but upstream may not be: a client that left before the first
      // byte does not stop the gateway reading the answer (and the mock billing it), up to
      // x-mock-latency-ms later. So the ledger is read again once every call it had seen is
      // recorded (a row is written only after upstream answered or was aborted), until no
      // new call appears.
      let mockCalls = callsOf(await stack.mock.requests(), tenant);
      for (let round = 0; round < 5; round++) {
        const sentIds = new Set(mockCalls.map((m) => `req_mock_${m.seq}`));
        await waitRows(stack, tenant, (r) => new Set(r.map((e) => e.upstream_request_id).filter((x) => sentIds.has(x))).size >= sentIds.size, 120_000);
        await sleep(2000); // anything still in flight (a duplicate) lands
        const again = callsOf(await stack.mock.requests(), tenant);
        const grew = again.length !== mockCalls.length;
        mockCalls = again;
        if (!grew) break;
      }
      const report = reconcile(mockCalls, await storedEvents(stack.stateDir, tenant), calls);
      await faults(stack, { duplicate_queue_sends: false });
      const health = (await stack.api('GET', '/health')).json.ingest;
      const statuses = {};
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const kinds = {};
      for (const c of calls) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
      printReport(`delivery (${mode} mode)`, report, {
        'client time': `${seconds.toFixed(1)} s, ${(calls.length / seconds).toFixed(0)} calls/s at concurrency ${CONCURRENCY}`,
        'statuses seen by clients': JSON.stringify(statuses),
        'kinds of call': JSON.stringify(kinds),
        'health.ingest': JSON.stringify(health),
      });
      assert.deepEqual(report.mismatches.slice(0, 20), []);
      assert.equal(report.lost, 0);
      assert.equal(report.duplicates, 0);
      assert.equal(report.events_without_upstream_id, 0);
      assert.equal(report.calls_recorded, report.calls_sent);
      assert.equal(report.nanos_recorded, report.nanos_ledger);
      // Every kind of call and fault happened, and the calls that reached upstream are nearly all of them.
      assert.ok(report.exact > calls.length * 0.5 && report.estimated > 0 && report.no_usage > 0,
        JSON.stringify(report, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
      assert.ok(report.calls_sent >= calls.length - (kinds.abort_before_first_byte ?? 0));
      assert.equal(health.unwritten_events_this_isolate, 0);
      assert.equal(health.unwritten_events, 0);
    });
  });
}

describe('the dead-letter queue (events queue with max_retries = 1)', () => {
  let stack;
  let key;
  before(async () => {
    stack = await startStack({ vars: { EVENT_WRITE_MODE: 'queue', ...FAULTS }, queueMaxRetries: 1 });
    key = (await stack.createKey({ name: 'dlq', scopes: ['ingest'] })).key;
  });
  after(async () => { await stack?.stop(); });

  test('an event D1 keeps refusing is parked in ingest_failures with its row, and counted in /health', async () => {
    const poison = 'poison-dlq';
    const tenant = 'neighbors-dlq';
    await faults(stack, { poison_tenant: poison });
    const all = await Promise.all([
      chat(stack, key, { 'x-llmobserve-tenant': poison }),
      ...Array.from({ length: 4 }, () => chat(stack, key, { 'x-llmobserve-tenant': tenant })),
    ]);
    assert.ok(all.every((s) => s.status === 200));
    const rows = await waitRows(stack, tenant, (r) => r.length >= 4, 30_000);
    assert.deepEqual(rows.map((r) => r.id).sort(), all.slice(1).map((s) => s.id).sort());
    // Tried, retried once, moved to the dead-letter queue, whose consumer finds D1 up and
    // the event still refused: parked.
    const deadline = Date.now() + 90_000;
    let ingest;
    for (;;) {
      ingest = (await stack.api('GET', '/health')).json.ingest;
      if (ingest.unwritten_events >= 1 || Date.now() > deadline) break;
      await sleep(500);
    }
    assert.equal(ingest.unwritten_events, 1, JSON.stringify(ingest));
    const [parked, ...more] = (await dumpD1(stack.stateDir, { internal: false })).ingest_failures;
    assert.deepEqual(more, []);
    assert.equal(parked.event_id, all[0].id);
    assert.equal(parked.tenant_id, poison);
    assert.equal(parked.stage, 'dead_letter');
    assert.match(parked.reason, /cannot be written/);
    // The parked row is the whole event, ready for a replay.
    assert.equal(JSON.parse(parked.event_row).id, all[0].id);
    assert.deepEqual(await storedEvents(stack.stateDir, poison), []);
    await faults(stack, { poison_tenant: '' });
  });
});
