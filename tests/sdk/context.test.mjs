// The context rules as JavaScript sees them: runs, sections, tenants and customers, headers,
// and isolation between concurrent runs in one process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PKG, tick } from './helpers.mjs';

const l = await import(`${PKG}/index.mjs`);

test('outside any run there is a process-wide context with its own run id', () => {
  const c = l.getContext();
  assert.equal(c.tenantId, null);
  assert.equal(c.sectionPath, null);
  assert.match(c.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(Object.isFrozen(c));
});

test('sections nest across awaits and end with their callback', async () => {
  await l.withRun({ tenantId: 'acme-corp', customerId: 'alice' }, async () => {
    const runId = l.getContext().runId;
    const inner = await l.section('agent:research_assistant', async () => {
      await tick(1);
      return l.section('step:analyze_results', async () => {
        await Promise.resolve();
        setImmediate(() => {}); // async resources created inside keep the context
        await tick(1);
        return l.getContext();
      });
    });
    assert.equal(inner.sectionPath, 'agent:research_assistant/step:analyze_results');
    assert.equal(inner.runId, runId);
    assert.equal(l.getContext().sectionPath, null);
    assert.equal(l.section('tool:sync', () => l.getContext().sectionPath), 'tool:sync', 'sync callbacks work too');
  });
});

test('tenant and customer belong to the run: set inside a section, seen after it', async () => {
  await l.withRun(async () => {
    await l.section('agent:a', async () => {
      l.setTenantId('bigco-inc');
      await tick(1);
      l.setCustomerId('bob@example.com');
    });
    const c = l.getContext();
    assert.deepEqual([c.tenantId, c.customerId], ['bigco-inc', 'bob@example.com']);
    l.setCustomerId(null);
    assert.equal(l.getContext().customerId, null);
  });
});

test('values the gateway would refuse are refused here, with its message, and change nothing', async () => {
  await l.withRun({ tenantId: 'acme-corp' }, () => {
    assert.throws(() => l.setTenantId('acme corp'), (e) => e instanceof l.LlmobserveError && /x-llmobserve-tenant.*' '/.test(e.message));
    assert.equal(l.getContext().tenantId, 'acme-corp');
    assert.throws(() => l.setCustomerId('x'.repeat(129)), /1 to 128 characters/);
    assert.throws(() => l.section('a b', () => {}), /x-llmobserve-section/);
    assert.throws(() => l.section('agent:a/tool:b', () => {}), /one level/);
    assert.throws(() => l.section('', () => {}), /x-llmobserve-section/);
    assert.throws(() => l.section('ok', 'not a function'), TypeError);
  });
  assert.throws(() => l.withRun({ runId: 'has space' }, () => {}), /x-llmobserve-run-id/);
  const deep = (n, fn) => (n === 0 ? fn() : l.section(`s${n}`, () => deep(n - 1, fn)));
  assert.doesNotThrow(() => deep(16, () => {}));
  assert.throws(() => deep(17, () => {}), /at most 16/);
});

test('headers carry the context, with the attempt of a retry section', async () => {
  await l.withRun({ tenantId: 'acme-corp', customerId: 'alice', runId: 'run-42' }, () =>
    l.section('agent:a', () => l.retryBlock('call', ({ attempt }) => {
      assert.deepEqual(l.getHeaders(), {
        'x-llmobserve-tenant': 'acme-corp',
        'x-llmobserve-customer': 'alice',
        'x-llmobserve-section': 'agent:a/retry:call:attempt_1',
        'x-llmobserve-attempt': '1',
        'x-llmobserve-run-id': 'run-42',
      });
      assert.equal(attempt, 1);
    })));
});

test('properties belong to the run: set, replaced, removed, sent as headers, refused like the gateway refuses them', async () => {
  await l.withRun({ tenantId: 'acme-corp', runId: 'run-p', properties: { Plan: 'pro' } }, async () => {
    await l.section('agent:a', async () => {
      l.setProperty('feature', 'summary');
      await tick(1);
      l.setProperty('Feature', 'search'); // names are lower-cased: this replaces it
    });
    assert.deepEqual(l.getContext().properties, { feature: 'search', plan: 'pro' });
    assert.ok(Object.isFrozen(l.getContext().properties));
    assert.deepEqual(l.getHeaders(), {
      'x-llmobserve-tenant': 'acme-corp',
      'x-llmobserve-run-id': 'run-p',
      'x-llmobserve-property-feature': 'search',
      'x-llmobserve-property-plan': 'pro',
    });
    assert.throws(() => l.setProperty('bad name', 'x'), (e) => e instanceof l.LlmobserveError && /x-llmobserve-property-bad name.*property names/.test(e.message));
    assert.throws(() => l.setProperty('feature', 'caf\u00e9'), /printable ASCII/);
    assert.throws(() => l.setProperty('feature', 3), /must be a string or null/);
    for (let i = 0; i < 14; i++) l.setProperty(`p${i}`, 'v');
    assert.throws(() => l.setProperty('one_too_many', 'v'), /at most 16/);
    assert.equal(Object.keys(l.getContext().properties).length, 16, 'a refused property changes nothing');
    l.setProperty('feature', null);
    assert.equal(l.getContext().properties.feature, undefined);
    assert.equal(l.getHeaders()['x-llmobserve-property-feature'], undefined);
  });
  await l.withRun(async () => assert.deepEqual(l.getContext().properties, {}, 'a new run starts with none'));
  assert.throws(() => l.withRun({ properties: { 'a b': 'x' } }, () => {}), /property names/);
});

test('500 concurrent runs with interleaved awaits each see only their own context', async () => {
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) =>
    l.withRun({ tenantId: `tenant-${i % 7}`, customerId: `customer-${i}` }, async () => {
      const runId = l.getContext().runId;
      await tick(i % 3);
      return l.section(`agent:a${i % 5}`, async () => {
        await tick((i * 7) % 4);
        l.setCustomerId(`customer-${i}-late`);
        const [x, y] = await Promise.all([
          l.section('tool:x', async () => { await tick(i % 2); return l.getContext(); }),
          l.section('tool:y', async () => { await tick((i + 1) % 2); return l.getContext(); }),
        ]);
        return { i, runId, x, y };
      });
    })));
  const runIds = new Set(results.map((r) => r.runId));
  assert.equal(runIds.size, 500, 'every run has its own run id');
  for (const { i, runId, x, y } of results) {
    for (const [c, tool] of [[x, 'x'], [y, 'y']]) {
      assert.equal(c.tenantId, `tenant-${i % 7}`);
      assert.equal(c.customerId, `customer-${i}-late`);
      assert.equal(c.sectionPath, `agent:a${i % 5}/tool:${tool}`);
      assert.equal(c.runId, runId);
    }
  }
});
