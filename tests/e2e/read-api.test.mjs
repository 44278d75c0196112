// The read API's behaviour beyond isolation: key lifecycle (expiry, rotation with and
// without grace, revocation), exports of large ranges streamed page by page (NDJSON and
// CSV, quoted and formula-safe), run trees (retries, truncation with exact totals), sums
// past 2^53, percentiles, insights, and the OpenAPI document served as committed. Every
// JSON answer is validated against the document.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startStack, ROOT } from './harness.mjs';
import { seedD1, eventRow } from './d1.mjs';
import { checkResponse } from './openapi.mjs';

const T0 = Date.parse('2025-11-01T00:00:00Z');
const BIG = 5_000_000_000_000_000; // nano-USD, $5M: each below 2^53, two of them above
const EXPORT_N = 2_345;
const RUN_N = 5_003;
let stack;

function seed() {
  const events = [];
  for (let i = 0; i < EXPORT_N; i += 1) {
    events.push(eventRow({ id: `ex-${String(i).padStart(5, '0')}`, tenant_id: 'export-co', customer_id: `c${i % 7}`,
      started_at: T0 + Math.floor(i / 3) * 1000, cost_nanousd: 1000 + i, latency_ms: i % 100 }));
  }
  events.push(eventRow({ id: 'ex-weird', tenant_id: 'export-co', started_at: T0 + 10_000_000, request_model: '=HYPERLINK("http://x")',
    error: 'upstream said: "no", then\nhung up, badly', cost_nanousd: null }));
  for (let i = 0; i < RUN_N; i += 1) {
    events.push(eventRow({ id: `run-${String(i).padStart(5, '0')}`, tenant_id: 'big-run-co', run_id: 'huge', section_path: `agent:a/tool:t${i % 3}`,
      started_at: T0 + i, cost_nanousd: 10, input_tokens: 1 }));
  }
  events.push(eventRow({ id: 'big-1', tenant_id: 'rich-co', customer_id: 'whale', started_at: T0, cost_nanousd: BIG }));
  events.push(eventRow({ id: 'big-2', tenant_id: 'rich-co', customer_id: 'whale', started_at: T0 + 1, cost_nanousd: BIG + 1 }));
  // Latencies 1..20 for one customer: nearest-rank p50 = 10, p95 = 19.
  for (let i = 1; i <= 20; i += 1) {
    events.push(eventRow({ id: `lat-${i}`, tenant_id: 'latency-co', customer_id: 'dana', started_at: T0 + i, latency_ms: 21 - i, cost_nanousd: 1 }));
  }
  const insights = Array.from({ length: 5 }, (_, i) => ({ id: `in-${i}`, tenant_id: 'export-co', day: `2025-11-0${i + 1}`, type: 'spend_spike',
    severity: i === 2 ? 'critical' : 'info', customer_id: null, payload: JSON.stringify({ day: i, delta_usd: '1.5' }), created_at: T0 + i }));
  return { events, insights };
}

before(async () => { stack = await startStack({ prepare: (dir) => seedD1(dir, seed()) }); });
after(async () => { await stack?.stop(); });

async function get(path, auth = stack.adminToken, headers = {}) {
  const r = await fetch(`${stack.url}${path}`, { headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...headers } });
  const text = await r.text();
  assert.deepEqual(checkResponse('GET', path, r.status, r.headers.get('content-type'), text), [], `GET ${path}`);
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

async function send(method, path, body, auth = stack.adminToken) {
  const r = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  assert.deepEqual(checkResponse(method, path, r.status, r.headers.get('content-type'), text), [], `${method} ${path}`);
  return { status: r.status, json: JSON.parse(text), headers: r.headers };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the OpenAPI document is served as committed', async () => {
  const r = await get('/openapi.json', null);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, JSON.parse(readFileSync(join(ROOT, 'worker/openapi.json'), 'utf8')));
});

test('keys: the secret is shown once; listing, expiry, rotation with and without grace, revocation', async () => {
  const made = await send('POST', '/admin/keys', { name: 'reader', scopes: ['read'], tenant_id: 'export-co' });
  assert.equal(made.status, 201);
  assert.match(made.json.key, /^llmo_[0-9a-f]{64}$/);
  assert.equal(made.json.secret_hint, `llmo_...${made.json.key.slice(-4)}`);
  assert.equal(made.headers.get('cache-control'), 'no-store');
  const one = await get(`/admin/keys/${made.json.id}`);
  assert.equal(one.json.status, 'active');
  assert.equal(one.json.key, undefined, 'the secret is never shown again');
  const list = await get('/admin/keys?tenant_id=export-co');
  assert.deepEqual(list.json.data.map((k) => k.id), [made.json.id]);
  assert.ok(!list.text.includes(made.json.key));
  assert.equal((await get('/runs/latest?limit=1', made.json.key)).status, 200);

  // Created by an admin key: the listing says which.
  const adminKey = (await send('POST', '/admin/keys', { name: 'ops', scopes: ['admin'] })).json;
  const byKey = await send('POST', '/admin/keys', { name: 'by-ops', scopes: ['ingest'] }, adminKey.key);
  assert.equal(byKey.json.created_by, adminKey.id);

  // Rotation without grace: the old secret stops at once, the new one works, same id.
  const r1 = await send('POST', `/admin/keys/${made.json.id}/rotate`);
  assert.equal(r1.status, 200);
  assert.equal(r1.json.id, made.json.id);
  assert.notEqual(r1.json.key, made.json.key);
  assert.equal(r1.json.previous_secret_valid_until, null);
  assert.equal((await get('/runs/latest?limit=1', made.json.key)).status, 401);
  assert.equal((await get('/runs/latest?limit=1', r1.json.key)).status, 200);

  // Rotation with a grace period: both work until it ends.
  const r2 = await send('POST', `/admin/keys/${made.json.id}/rotate`, { grace_period_seconds: 2 });
  assert.ok(r2.json.previous_secret_valid_until);
  assert.equal((await get('/runs/latest?limit=1', r1.json.key)).status, 200);
  assert.equal((await get('/runs/latest?limit=1', r2.json.key)).status, 200);
  await sleep(2200);
  assert.equal((await get('/runs/latest?limit=1', r1.json.key)).status, 401, 'the grace period ended');
  assert.equal((await get('/runs/latest?limit=1', r2.json.key)).status, 200);

  // Revocation ends the key (and any grace period) at once.
  const r3 = await send('POST', `/admin/keys/${made.json.id}/rotate`, { grace_period_seconds: 600 });
  const revoked = await send('DELETE', `/admin/keys/${made.json.id}`);
  assert.equal(revoked.json.status, 'revoked');
  assert.equal(revoked.json.previous_secret_valid_until, null);
  for (const k of [r2.json.key, r3.json.key]) assert.equal((await get('/runs/latest?limit=1', k)).status, 401);
  assert.equal((await send('DELETE', `/admin/keys/${made.json.id}`)).status, 404);
  assert.equal((await send('POST', `/admin/keys/${made.json.id}/rotate`)).status, 404, 'a revoked key cannot be rotated back to life');
  assert.deepEqual((await get('/admin/keys?tenant_id=export-co&include_revoked=false')).json.data, []);

  // Expiry.
  const soon = await send('POST', '/admin/keys', { name: 'short', scopes: ['read'], expires_at: new Date(Date.now() + 1500).toISOString() });
  assert.equal((await get('/runs/latest?tenant_id=export-co&limit=1', soon.json.key)).status, 200);
  await sleep(1700);
  assert.equal((await get('/runs/latest?tenant_id=export-co&limit=1', soon.json.key)).status, 401);
  assert.equal((await get(`/admin/keys/${soon.json.id}`)).json.status, 'expired');
});

test('a large export streams page by page: every event once, oldest first, NDJSON and CSV', async () => {
  const res = await fetch(`${stack.url}/events?tenant_id=export-co`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), null, 'streamed, not buffered');
  assert.match(res.headers.get('content-type'), /^application\/x-ndjson/);
  assert.match(res.headers.get('content-disposition'), /attachment; filename="llmobserve-events-export-co.ndjson"/);
  let chunks = 0;
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) { chunks += 1; text += decoder.decode(chunk, { stream: true }); }
  const rows = text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, EXPORT_N + 1);
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
  for (let i = 1; i < rows.length; i += 1) {
    assert.ok(rows[i - 1].started_at < rows[i].started_at || (rows[i - 1].started_at === rows[i].started_at && rows[i - 1].id < rows[i].id));
  }
  assert.ok(chunks >= 3, `${chunks} chunks`);

  const csv = await get('/events?tenant_id=export-co&customer_id=c3', stack.adminToken, { accept: 'text/csv' });
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  const lines = csv.text.split('\r\n').filter(Boolean);
  assert.equal(lines[0].split(',')[0], 'id');
  assert.equal(lines.length - 1, Math.ceil((EXPORT_N - 3) / 7));
  const weird = await get('/events?tenant_id=export-co&format=csv&from=2025-11-01T02:46:40Z');
  const record = weird.text.split('\r\n')[1];
  assert.ok(record.includes(',"\'=HYPERLINK(""http://x"")",'), `formula defused and quoted: ${record}`);
  assert.ok(record.includes('"upstream said: ""no"", then\nhung up, badly"'), 'quotes and line breaks quoted');
  const filtered = await get('/events?tenant_id=export-co&format=ndjson&from=2025-11-01T00:00:10Z&to=2025-11-01T00:00:12Z');
  assert.deepEqual(filtered.text.trim().split('\n').map((l) => JSON.parse(l).id), ['ex-00030', 'ex-00031', 'ex-00032', 'ex-00033', 'ex-00034', 'ex-00035']);
  const empty = await get('/events?tenant_id=nobody&format=csv');
  assert.equal(empty.text.split('\r\n').filter(Boolean).length, 1, 'an empty export is the header alone');
});

test('a run with more events than the tree holds is cut, with exact totals', async () => {
  const r = await get('/runs/huge?tenant_id=big-run-co');
  assert.equal(r.status, 200);
  assert.equal(r.json.truncated, true);
  assert.equal(r.json.totals.calls, RUN_N);
  assert.equal(r.json.totals.cost_nanousd, RUN_N * 10);
  assert.equal(r.json.tree.totals.calls, r.json.event_limit);
  assert.deepEqual(r.json.tree.children[0].children.map((c) => c.name), ['tool:t0', 'tool:t1', 'tool:t2']);
});

test('sums past 2^53 nano-USD stay exact', async () => {
  const r = await get('/costs?tenant_id=rich-co&group_by=customer');
  assert.equal(r.json.totals.cost_nanousd, '10000000000000001');
  assert.equal(r.json.totals.cost_usd, '10000000.000000001');
  assert.equal(r.json.data[0].cost_usd, '10000000.000000001');
  const c = await get('/tenants/rich-co/customers');
  assert.equal(c.json.data[0].cost_nanousd, '10000000000000001');
});

test('per-customer latency: average, nearest-rank p50 and p95, max', async () => {
  const r = await get('/tenants/latency-co/customers');
  const [dana] = r.json.data;
  assert.deepEqual([dana.calls, dana.avg_latency_ms, dana.p50_latency_ms, dana.p95_latency_ms, dana.max_latency_ms], [20, 10.5, 10, 19, 20]);
  const page = await get('/tenants/export-co/customers?limit=3');
  assert.equal(page.json.data.length, 3);
  assert.equal(page.json.next_cursor, 'o3');
  const rest = await get(`/tenants/export-co/customers?limit=10&cursor=${page.json.next_cursor}`);
  const all = [...page.json.data, ...rest.json.data].map((c) => c.customer_id);
  assert.equal(new Set(all).size, 8, 'c0..c6 and the calls without a customer, each once');
  assert.equal(rest.json.next_cursor, null);
});

test('insights: newest day first, severity filter, payload as JSON, pagination', async () => {
  const r = await get('/insights/daily?tenant_id=export-co&limit=2');
  assert.deepEqual(r.json.data.map((i) => i.day), ['2025-11-05', '2025-11-04']);
  assert.deepEqual(r.json.data[0].payload, { day: 4, delta_usd: '1.5' });
  const next = await get(`/insights/daily?tenant_id=export-co&limit=2&cursor=${r.json.next_cursor}`);
  assert.deepEqual(next.json.data.map((i) => i.day), ['2025-11-03', '2025-11-02']);
  const crit = await get('/insights/daily?tenant_id=export-co&severity=critical');
  assert.deepEqual(crit.json.data.map((i) => i.id), ['in-2']);
  const range = await get('/insights/daily?tenant_id=export-co&from=2025-11-02&to=2025-11-04');
  assert.deepEqual(range.json.data.map((i) => i.day), ['2025-11-03', '2025-11-02']);
});

test('the reference run through the real gateway becomes a section tree with retry waste', async () => {
  const app = (await send('POST', '/admin/keys', { name: 'app', scopes: ['ingest'] })).json.key;
  const openai = new OpenAI({ apiKey: app, baseURL: `${stack.url}/v1`, maxRetries: 0 });
  const calls = [
    ['agent:research_assistant/tool:search', 1200, 300],
    ['agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_1', 2000, 50],
    ['agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2', 2000, 50],
  ];
  const costs = [];
  for (const [section, prompt, completion] of calls) {
    const { response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' }] }, { headers: {
      'x-llmobserve-tenant': 'ref-co', 'x-llmobserve-customer': 'alice', 'x-llmobserve-section': section, 'x-llmobserve-run-id': 'run-ref',
      'x-mock-prompt-tokens': String(prompt), 'x-mock-completion-tokens': String(completion) } }).withResponse();
    costs.push(response.headers.get('x-llmobserve-cost-usd'));
    await sleep(5);
  }
  await stack.waitForEvents('ref-co', (d) => d.length === 3);
  const r = await get('/runs/run-ref?tenant_id=ref-co');
  assert.equal(r.status, 200);
  const agent = r.json.tree.children[0];
  assert.equal(agent.kind, 'agent');
  assert.equal(agent.label, 'research_assistant');
  const step = agent.children.find((c) => c.name === 'step:analyze_results');
  assert.deepEqual(step.children.map((c) => [c.retry.attempt, c.retry.superseded]), [[1, true], [2, false]]);
  assert.equal(r.json.tree.totals.retries, 1);
  assert.equal(r.json.tree.totals.wasted_cost_usd, costs[1]);
  assert.deepEqual(r.json.customers, ['alice']);
  assert.equal((await get('/runs/run-ref?tenant_id=other-co')).status, 404);
  const latest = await get('/runs/latest?tenant_id=ref-co&section_prefix=agent:research_assistant/step:analyze_results');
  assert.equal(latest.json.data.length, 2);
  const costsByDepth = await get('/costs?tenant_id=ref-co&group_by=section&section_depth=2');
  assert.deepEqual(costsByDepth.json.data.map((g) => [g.section, g.calls]).sort(),
    [['agent:research_assistant/step:analyze_results', 2], ['agent:research_assistant/tool:search', 1]]);
});
