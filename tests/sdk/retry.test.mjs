// retryBlock: attempt numbering, which failures are retried, the wait between attempts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PKG, startServer } from './helpers.mjs';

const l = await import(`${PKG}/index.mjs`);

function httpError(status, headers = {}) {
  return Object.assign(new Error(`HTTP ${status}`), { status, headers: new Headers(headers) });
}

test('each attempt runs in its own retry section; a 429 is retried, then the result is returned', async () => {
  const seen = [];
  const out = await l.withRun({ tenantId: 'bigco-inc' }, () =>
    l.section('agent:research_assistant', () => l.section('step:analyze_results', () =>
      l.retryBlock('llm_analysis', async ({ attempt, sectionPath }) => {
        seen.push([attempt, sectionPath, l.getContext().attempt]);
        if (attempt === 1) throw httpError(429, { 'retry-after': '0' });
        return 'analysed';
      }))));
  assert.equal(out, 'analysed');
  assert.deepEqual(seen, [
    [1, 'agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_1', 1],
    [2, 'agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2', 2],
  ]);
});

test('the request\'s own mistakes and unknown errors are not retried', async () => {
  for (const err of [httpError(400), httpError(401), new Error('a bug'), new RangeError('x')]) {
    let calls = 0;
    await assert.rejects(l.retryBlock('x', () => { calls++; throw err; }), (e) => e === err);
    assert.equal(calls, 1, String(err));
  }
});

test('server errors and connection errors are retried until the attempts are used up', async () => {
  for (const err of [httpError(503), httpError(408), Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    Object.assign(new Error('Connection error.'), { name: 'APIConnectionError' })]) {
    let calls = 0;
    await assert.rejects(l.retryBlock('x', () => { calls++; throw err; }, { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 }), (e) => e === err);
    assert.equal(calls, 3, String(err));
  }
});

test('retryOn decides for thrown errors', async () => {
  let calls = 0;
  const out = await l.retryBlock('parse', ({ attempt }) => {
    calls++;
    if (attempt < 3) throw new SyntaxError('model returned invalid JSON');
    return 'parsed';
  }, { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, retryOn: (e) => e instanceof SyntaxError });
  assert.deepEqual([out, calls], ['parsed', 3]);
  await assert.rejects(l.retryBlock('x', () => { throw httpError(429); }, { retryOn: () => false }), /429/);
});

test('the server\'s retry-after is honoured, capped by maxDelayMs', async () => {
  const t0 = Date.now();
  await l.retryBlock('x', ({ attempt }) => { if (attempt === 1) throw httpError(429, { 'retry-after': '0.2' }); }, { maxDelayMs: 1000 });
  const waited = Date.now() - t0;
  assert.ok(waited >= 190 && waited < 900, `waited ${waited} ms`);
  const t1 = Date.now();
  await l.retryBlock('x', ({ attempt }) => { if (attempt === 1) throw httpError(429, { 'retry-after': '60' }); }, { baseDelayMs: 10, maxDelayMs: 50 });
  assert.ok(Date.now() - t1 < 500, 'a long retry-after is capped');
});

test('a fetch Response with a retryable status is retried, and returned when attempts run out', async () => {
  const srv = await startServer(({ headers }) => ({ status: Number(headers['x-want']) }));
  try {
    const statuses = [];
    const res = await l.retryBlock('call', async ({ attempt }) => {
      const r = await fetch(srv.url, { headers: { 'x-want': attempt === 1 ? '503' : '200' } });
      statuses.push(r.status);
      return r;
    }, { baseDelayMs: 1, maxDelayMs: 5 });
    assert.equal(res.status, 200);
    assert.deepEqual(statuses, [503, 200]);
    const last = await l.retryBlock('call', () => fetch(srv.url, { headers: { 'x-want': '429' } }), { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 });
    assert.equal(last.status, 429);
    assert.equal(srv.requests.length, 4);
    const bad = await l.retryBlock('call', () => fetch(srv.url, { headers: { 'x-want': '404' } }));
    assert.equal(bad.status, 404, 'not retryable: returned at once');
    assert.equal(srv.requests.length, 5);
  } finally {
    await srv.close();
  }
});

test('bad options and names fail before the first attempt', async () => {
  let calls = 0;
  const fn = () => { calls++; };
  await assert.rejects(l.retryBlock('a b', fn), /x-llmobserve-section/);
  await assert.rejects(l.retryBlock('x', fn, { maxAttempts: 0 }), /maxAttempts/);
  await assert.rejects(l.retryBlock('x', fn, { maxAttempts: 1001 }), /maxAttempts/);
  await assert.rejects(l.retryBlock('x', fn, { maxAttempts: 2.5 }), /maxAttempts/);
  await assert.rejects(l.retryBlock('x', fn, { baseDelayMs: 10, maxDelayMs: 1 }), /baseDelayMs/);
  await assert.rejects(l.retryBlock('x', 'nope'), TypeError);
  assert.equal(calls, 0);
});
