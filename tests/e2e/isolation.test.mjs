// Tenant isolation you can prove: two tenants (plus look-alike decoys), keys of every
// kind, every read endpoint and filter. Each cell of the matrix asserts exactly what is
// returned or refused, against an independent oracle (oracle.mjs); a seeded property
// test then throws random queries at random keys and checks that no answer ever holds a
// row outside the caller's scope, and that every answer equals the oracle's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startStack } from './harness.mjs';
import { seedD1, eventRow } from './d1.mjs';
import { checkResponse } from './openapi.mjs';
import {
  DAY, prng, byNewest, byOldest, readScope, inScope, matchesFilters, sums, usd, groupKey, customerRows, insightRows,
} from './oracle.mjs';

const SEED = Number(process.env.LLMOBSERVE_PROPERTY_SEED ?? 20251128);
const T0 = Date.parse('2025-11-01T00:00:00Z');
const H = 3_600_000;
const NOW = Date.now();

// ---- the data ----

const FIXED = [
  { id: 'ev-acme-1', tenant_id: 'acme-corp', customer_id: 'alice', run_id: 'run-shared', section_path: 'agent:research/tool:search',
    request_model: 'gpt-4o-mini', response_model: 'gpt-4o-mini-2024-07-18', started_at: T0 + H, cost_nanousd: 283_200, input_tokens: 1200, output_tokens: 300, latency_ms: 120 },
  { id: 'ev-acme-2', tenant_id: 'acme-corp', customer_id: 'charlie', run_id: 'run-shared', section_path: 'agent:research/step:analyze/retry:llm:attempt_1',
    attempt: 1, request_model: 'gpt-4o', started_at: T0 + 2 * H, cost_nanousd: 2_250_000, input_tokens: 500, output_tokens: 100, latency_ms: 900, status_code: 500 },
  { id: 'ev-acme-3', tenant_id: 'acme-corp', customer_id: 'charlie', run_id: 'run-shared', section_path: 'agent:research/step:analyze/retry:llm:attempt_2',
    attempt: 2, request_model: 'gpt-4o', started_at: T0 + 2 * H + 5000, cost_nanousd: 2_250_000, input_tokens: 500, output_tokens: 100, latency_ms: 800 },
  { id: 'ev-acme-4', tenant_id: 'acme-corp', customer_id: null, run_id: 'run-acme-only', section_path: 'agent:a_b',
    request_model: 'acme-private-llm', started_at: T0 + 40 * DAY, cost_nanousd: null, input_tokens: 10, latency_ms: 50 },
  { id: 'ev-acme-5', tenant_id: 'acme-corp', customer_id: 'alice', run_id: null, section_path: 'agent:aXb',
    request_model: 'gpt-4.1', started_at: T0 + 40 * DAY, cost_nanousd: 4_400_000, input_tokens: 2000, output_tokens: 50, latency_ms: 300, status_code: 429 },
  { id: 'ev-bigco-1', tenant_id: 'bigco-inc', customer_id: 'bob', run_id: 'run-shared', section_path: 'agent:research/tool:search',
    request_model: 'gpt-4.1', started_at: T0 + H, cost_nanousd: 4_400_000, input_tokens: 2000, output_tokens: 50, latency_ms: 200 },
  { id: 'ev-bigco-2', tenant_id: 'bigco-inc', customer_id: 'alice', run_id: 'run-bigco-only', section_path: 'agent:research',
    request_model: 'gpt-4o-mini', started_at: T0 + 3 * DAY, cost_nanousd: 1_000, input_tokens: 7, output_tokens: 1, latency_ms: 70 },
  { id: 'ev-decoy-1', tenant_id: 'acme-corp.eu', customer_id: 'alice', run_id: 'run-shared', section_path: 'agent:research',
    request_model: 'gpt-4o-mini', started_at: T0 + H, cost_nanousd: 999, latency_ms: 10 },
  { id: 'ev-decoy-2', tenant_id: 'ACME-CORP', customer_id: 'alice', run_id: 'run-shared', section_path: 'agent:research',
    request_model: 'gpt-4o-mini', started_at: T0 + H, cost_nanousd: 998, latency_ms: 10 },
];

const TENANTS = ['acme-corp', 'bigco-inc', 'acme-corp.eu', 'ACME-CORP', 'acme', 'bigco-inc2'];
const CUSTOMERS = ['alice', 'bob', 'charlie', 'Alice', 'alice.smith', 'bob+test@example.com', null];
const SECTIONS = ['agent:research', 'agent:research/tool:search', 'agent:research/step:analyze', 'agent:research/step:analyze/retry:llm:attempt_1',
  'agent:research/step:analyze/retry:llm:attempt_2', 'agent:researcher', 'agent:a_b', 'agent:aXb', 'Agent:research', null];
const MODELS = [['gpt-4o-mini', 'gpt-4o-mini-2024-07-18'], ['gpt-4o', null], ['gpt-4.1', 'gpt-4.1-2025-04-14'], ['acme-private-llm', null], [null, null]];
const RUNS = ['run-shared', 'run-1', 'run-2', 'run-acme-only', null];
const STATUSES = [200, 200, 200, 201, 400, 429, 500, 502];

function randomEvents(rng, n) {
  const times = Array.from({ length: 120 }, () => T0 + rng.int(0, 90) * DAY + rng.int(0, 23) * H); // shared instants: ties on started_at
  return Array.from({ length: n }, (_, i) => {
    const [request_model, response_model] = rng.pick(MODELS);
    const priced = request_model !== null && request_model !== 'acme-private-llm' && rng.chance(0.9);
    return {
      id: `ev-r-${String(i).padStart(4, '0')}-${rng.int(0, 99)}`,
      tenant_id: rng.pick(TENANTS), customer_id: rng.pick(CUSTOMERS), run_id: rng.pick(RUNS), section_path: rng.pick(SECTIONS),
      attempt: rng.chance(0.2) ? rng.int(1, 3) : null, request_model, response_model, status_code: rng.pick(STATUSES),
      started_at: rng.pick(times), cost_nanousd: priced ? rng.int(0, 50_000_000) : null,
      input_tokens: rng.int(0, 5000), output_tokens: rng.int(0, 2000), latency_ms: rng.int(1, 5000),
    };
  });
}

const rng = prng(SEED);
const EVENTS = [...FIXED, ...randomEvents(rng, 500)].map((e) => eventRow(e));
const INSIGHTS = [];
for (const tenant of TENANTS) {
  for (const customer of [null, 'alice', 'bob', 'charlie']) {
    for (const day of ['2025-11-02', '2025-11-03', '2025-12-01']) {
      if (!rng.chance(0.6)) continue;
      INSIGHTS.push({ id: `in-${tenant}-${customer}-${day}`, tenant_id: tenant, day, type: rng.pick(['spend_spike', 'top_customers', 'retry_waste']),
        severity: rng.pick(['info', 'warning', 'critical']), customer_id: customer, payload: JSON.stringify({ tenant, customer }), created_at: T0 + rng.int(0, 1000) });
    }
  }
}

// ---- the keys ----

const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const EXPIRED_SECRET = `llmo_${'e'.repeat(60)}0001`;

/** name -> { auth, scopes, tenant?, customer?, header } (header: the Authorization value sent) */
const P = {};
let stack;

before(async () => {
  stack = await startStack({
    prepare: (dir) => seedD1(dir, {
      events: EVENTS,
      insights: INSIGHTS,
      api_keys: [{ id: 'key_00000000000000ee', key_hash: sha256(EXPIRED_SECRET), name: 'expired', scopes: 'read', tenant_id: null,
        created_at: NOW - 10 * DAY, expires_at: NOW - DAY, secret_hint: 'llmo_...0001' }],
    }),
  });
  const make = async (name, spec, p) => {
    const k = await stack.createKey({ name, ...spec });
    P[name] = { auth: 'ok', header: `Bearer ${k.key}`, id: k.id, ...p };
    return k;
  };
  await make('ingestUnbound', { scopes: ['ingest'] }, { scopes: ['ingest'] });
  await make('ingestAcme', { scopes: ['ingest'], tenant_id: 'acme-corp' }, { scopes: ['ingest'], tenant: 'acme-corp' });
  await make('readUnbound', { scopes: ['read'] }, { scopes: ['read'] });
  await make('readAcme', { scopes: ['read'], tenant_id: 'acme-corp' }, { scopes: ['read'], tenant: 'acme-corp' });
  await make('readIngestBigco', { scopes: ['read', 'ingest'], tenant_id: 'bigco-inc' }, { scopes: ['read', 'ingest'], tenant: 'bigco-inc' });
  await make('readAcmeAlice', { scopes: ['read'], tenant_id: 'acme-corp', customer_id: 'alice' }, { scopes: ['read'], tenant: 'acme-corp', customer: 'alice' });
  await make('readBigcoAlice', { scopes: ['read'], tenant_id: 'bigco-inc', customer_id: 'alice' }, { scopes: ['read'], tenant: 'bigco-inc', customer: 'alice' });
  await make('adminKey', { scopes: ['admin'] }, { scopes: ['admin'] });
  P.adminToken = { auth: 'ok', scopes: ['admin'], header: `Bearer ${stack.adminToken}` };
  const revoked = await make('revoked', { scopes: ['read'], tenant_id: 'acme-corp' }, {});
  assert.equal((await stack.api('DELETE', `/admin/keys/${revoked.id}`, { auth: stack.adminToken })).status, 200);
  P.revoked = { auth: 'bad', header: P.revoked.header };
  const old = await make('rotatedOut', { scopes: ['read'], tenant_id: 'acme-corp' }, {});
  const rotated = await stack.api('POST', `/admin/keys/${old.id}/rotate`, { auth: stack.adminToken });
  assert.equal(rotated.status, 200);
  P.rotatedOut = { auth: 'bad', header: P.rotatedOut.header };
  P.rotatedIn = { auth: 'ok', scopes: ['read'], tenant: 'acme-corp', header: `Bearer ${rotated.json.key}` };
  P.expired = { auth: 'bad', header: `Bearer ${EXPIRED_SECRET}` };
  P.none = { auth: 'bad', header: undefined };
  P.unknownKey = { auth: 'bad', header: `Bearer llmo_${'0'.repeat(64)}` };
  P.wrongAdmin = { auth: 'bad', header: `Bearer ${stack.adminToken}x` };
  P.quoted = { auth: 'bad', header: 'Bearer "llmo_quoted"' };
  P.sqlToken = { auth: 'bad', header: "Bearer ' OR '1'='1' --" };
  P.oversized = { auth: 'bad', header: `Bearer llmo_${'a'.repeat(5000)}` };
  P.basic = { auth: 'bad', header: 'Basic YWRtaW46YWRtaW4=' };
  P.emptyBearer = { auth: 'bad', header: 'Bearer' };
});

after(async () => { await stack?.stop(); });

// ---- requests and their expected answers ----

async function call(principal, method, path, body) {
  const headers = {};
  if (principal.header !== undefined) headers.authorization = principal.header;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${stack.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const problems = checkResponse(method, path, r.status, r.headers.get('content-type'), text);
  assert.deepEqual(problems, [], `${method} ${path}: the answer matches the OpenAPI document`);
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, text, json };
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const FILTER_KEYS = ['run_id', 'section_prefix', 'model', 'provider', 'endpoint', 'status', 'pricing_status', 'from', 'to'];
const toMs = (v) => (v === undefined ? undefined : /^\d+$/.test(String(v)) ? Number(v) : Date.parse(String(v).length === 10 ? `${v}T00:00:00Z` : v));

function filtersOf(req) {
  const f = {};
  for (const k of FILTER_KEYS) if (req[k] !== undefined) f[k] = req[k];
  if (f.from !== undefined) f.from = toMs(f.from);
  if (f.to !== undefined) f.to = toMs(f.to);
  return f;
}

/** Walks a tree and returns every call in it. */
function treeCalls(node) {
  return [...node.calls, ...node.children.flatMap(treeCalls)];
}

/** Sends one read and asserts the answer equals the oracle's, and holds nothing outside the scope. */
async function checkRead(name, req) {
  const p = P[name];
  const { kind, tenant, customer, ...rest } = req;
  const q = { tenant_id: tenant, customer_id: customer };
  let path;
  switch (kind) {
    case 'latest': path = `/runs/latest${qs({ ...q, ...rest, limit: 500 })}`; break;
    case 'export': path = `/events${qs({ ...q, ...rest })}`; break;
    case 'costs': path = `/costs${qs({ ...q, ...rest })}`; break;
    case 'insights': path = `/insights/daily${qs({ ...q, ...rest })}`; break;
    case 'run': path = `/runs/${encodeURIComponent(rest.run)}${qs(q)}`; break;
    case 'customers': path = `/tenants/${encodeURIComponent(tenant)}/customers${qs({ customer_id: customer, from: rest.from, to: rest.to })}`; break;
    default: throw new Error(kind);
  }
  const r = await call(p, 'GET', path);
  const where = `${name} GET ${path}`;
  const scope = readScope(p, { tenant, customer });
  if (scope.status) {
    assert.equal(r.status, scope.status, `${where}: ${r.text}`);
    assert.equal(r.json.error.code, scope.code, where);
    for (const e of EVENTS) assert.ok(!r.text.includes(e.id), `${where}: a refusal names no event`);
    return { scope, status: r.status };
  }
  const f = filtersOf(rest);
  const visible = EVENTS.filter((e) => inScope(scope, e));
  if (kind === 'run') {
    const mine = visible.filter((e) => e.run_id === rest.run);
    if (mine.length === 0) {
      assert.equal(r.status, 404, `${where}: ${r.text}`);
      assert.equal(r.json.error.code, 'not_found');
      return { scope, status: 404 };
    }
    assert.equal(r.status, 200, `${where}: ${r.text}`);
    const got = treeCalls(r.json.tree);
    assert.deepEqual(got.map((e) => e.id).sort(), mine.map((e) => e.id).sort(), where);
    assert.ok(got.every((e) => inScope(scope, e)), `${where}: every call in scope`);
    assert.equal(r.json.totals.calls, mine.length);
    assert.equal(r.json.totals.cost_usd, usd(sums(mine).cost));
    assert.equal(r.json.tenant_id, scope.tenant);
    return { scope, status: 200 };
  }
  assert.equal(r.status, 200, `${where}: ${r.text}`);
  assert.equal(r.json?.tenant_id ?? scope.tenant, scope.tenant, where);
  const want = visible.filter((e) => matchesFilters(e, f));
  switch (kind) {
    case 'latest': {
      assert.ok(r.json.data.every((e) => inScope(scope, e)), `${where}: a row outside the scope`);
      assert.deepEqual(r.json.data.map((e) => e.id), want.sort(byNewest).map((e) => e.id), where);
      assert.equal(r.json.has_more, false);
      break;
    }
    case 'export': {
      const rows = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.ok(rows.every((e) => inScope(scope, e)), `${where}: a row outside the scope`);
      assert.deepEqual(rows.map((e) => e.id), want.sort(byOldest).map((e) => e.id), where);
      break;
    }
    case 'costs': {
      const s = sums(want);
      assert.equal(r.json.totals.calls, s.calls, where);
      assert.equal(r.json.totals.cost_usd, usd(s.cost), where);
      assert.equal(r.json.totals.priced_calls, s.priced_calls, where);
      assert.equal(r.json.totals.error_calls, s.error_calls, where);
      assert.equal(r.json.totals.input_tokens, s.input_tokens, where);
      const dims = rest.group_by ? rest.group_by.split(',') : [];
      const field = { customer: 'customer_id' };
      const expect = new Map();
      for (const e of want) {
        const key = JSON.stringify(dims.map((d) => groupKey(e, d, rest.section_depth)));
        expect.set(key, [...(expect.get(key) ?? []), e]);
      }
      const got = new Map(r.json.data.map((g) => [JSON.stringify(dims.map((d) => g[field[d] ?? d])), g]));
      assert.deepEqual([...got.keys()].sort(), dims.length ? [...expect.keys()].sort() : [], `${where}: groups`);
      for (const [key, es] of expect) {
        if (!dims.length) break;
        assert.equal(got.get(key).calls, es.length, `${where} ${key}`);
        assert.equal(got.get(key).cost_usd, usd(sums(es).cost), `${where} ${key}`);
      }
      if (dims.includes('customer') && scope.customer !== null) {
        assert.ok(r.json.data.every((g) => g.customer_id === scope.customer), `${where}: a group outside the scope`);
      }
      break;
    }
    case 'customers': {
      const rows = customerRows(want);
      assert.ok(r.json.data.every((c) => scope.customer === null || c.customer_id === scope.customer), `${where}: a customer outside the scope`);
      assert.deepEqual(r.json.data.map((c) => [c.customer_id, c.calls, c.cost_usd, c.p50_latency_ms, c.p95_latency_ms, c.max_latency_ms]),
        rows.map((c) => [c.customer_id, c.calls, usd(c.cost), c.p50, c.p95, c.max]), where);
      break;
    }
    case 'insights': {
      const rows = insightRows(INSIGHTS, scope, rest);
      assert.ok(r.json.data.every((i) => scope.customer === null || i.customer_id === scope.customer), `${where}: an insight outside the scope`);
      assert.deepEqual(r.json.data.map((i) => i.id), rows.map((i) => i.id), where);
      break;
    }
    default: throw new Error(kind);
  }
  return { scope, status: 200 };
}

const READ_PRINCIPALS = () => Object.keys(P);

/** Runs `fn` over `items`, `n` at a time (the cells are independent reads). */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

test('isolation matrix: every key kind x every read endpoint x tenant and customer choice', async (t) => {
  const reqs = [];
  // ACME-CORP differs from acme-corp in case only: tenant ids match exactly.
  for (const tenant of ['acme-corp', 'bigco-inc', 'ghost-co', 'ACME-CORP', undefined]) {
    for (const customer of [undefined, 'alice', 'bob']) {
      reqs.push({ kind: 'latest', tenant, customer });
      reqs.push({ kind: 'export', tenant, customer });
      reqs.push({ kind: 'costs', tenant, customer, group_by: 'customer' });
      reqs.push({ kind: 'insights', tenant, customer });
      reqs.push({ kind: 'run', tenant, customer, run: 'run-shared' });
      if (tenant) reqs.push({ kind: 'customers', tenant, customer });
    }
    reqs.push({ kind: 'run', tenant, run: 'run-acme-only' });
    reqs.push({ kind: 'run', tenant, run: 'run-bigco-only' });
    reqs.push({ kind: 'run', tenant, run: 'no-such-run' });
  }
  const table = {};
  const cells = READ_PRINCIPALS().flatMap((name) => reqs.map((req) => [name, req]));
  await pool(cells, 3, async ([name, req]) => {
    const { status } = await checkRead(name, req);
    const col = `${req.kind}:${req.tenant ?? '-'}`;
    table[name] ??= {};
    (table[name][col] ??= new Set()).add(status);
  });
  t.diagnostic(`${Object.keys(P).length} keys x ${reqs.length} reads = ${cells.length} cells; statuses of /runs/latest by tenant asked:`);
  for (const name of READ_PRINCIPALS()) {
    const row = Object.entries(table[name]).filter(([c]) => c.startsWith('latest'));
    t.diagnostic(`${name.padEnd(16)} ${row.map(([c, s]) => `${c.slice(7)}=${[...s].sort().join('/')}`).join(' ')}`);
  }
});

test('isolation matrix: every filter, for every key kind, stays inside the scope', async () => {
  const filters = [
    { model: 'gpt-4o-mini' }, { model: 'gpt-4o-mini-2024-07-18' }, { section_prefix: 'agent:research' }, { section_prefix: 'agent:a_b' },
    { section_prefix: 'agent:res' }, { status: 'error' }, { status: '5xx' }, { status: '429' }, { status: 'ok' },
    { pricing_status: 'unpriced' }, { from: '2025-11-01', to: '2025-11-02' }, { from: T0 + 30 * DAY }, { to: '2025-11-01T02:00:00Z' },
    { run_id: 'run-shared' }, { provider: 'openai' }, { endpoint: '/v1/chat/completions' }, { endpoint: '/v1/embeddings' },
  ];
  // Every key that can read, and one of each kind of refusal (the first matrix already
  // holds every refusal kind against every endpoint).
  const names = READ_PRINCIPALS().filter((n) => P[n].auth === 'ok' || ['none', 'revoked', 'quoted'].includes(n));
  const cells = [];
  for (const name of names) {
    for (const f of filters) {
      for (const tenant of ['acme-corp', undefined]) {
        cells.push([name, { kind: 'latest', tenant, ...f }]);
        cells.push([name, { kind: 'costs', tenant, group_by: 'day,model,section', ...f }]);
        cells.push([name, { kind: 'export', tenant, ...f }]);
      }
    }
    cells.push([name, { kind: 'customers', tenant: 'acme-corp', from: '2025-11-01', to: '2025-11-15' }]);
    cells.push([name, { kind: 'insights', tenant: 'acme-corp', from: '2025-11-03', severity: 'warning' }]);
  }
  await pool(cells, 3, ([name, req]) => checkRead(name, req));
});

test('isolation matrix: admin endpoints need admin; the gateway needs ingest and the bound tenant', async () => {
  for (const [name, p] of Object.entries(P)) {
    const isAdmin = p.auth === 'ok' && p.scopes.includes('admin');
    const refusal = p.auth !== 'ok' ? 401 : 403;
    const list = await call(p, 'GET', '/admin/keys');
    assert.equal(list.status, isAdmin ? 200 : refusal, `${name} GET /admin/keys: ${list.text}`);
    if (!isAdmin) assert.ok(!list.text.includes('key_'), `${name}: a refusal lists no key`);
    if (isAdmin) assert.ok(!list.text.includes('llmo_') || !/llmo_[0-9a-f]{64}/.test(list.text), 'no secret in a listing');
    const del = await call(p, 'DELETE', '/admin/keys/key_ffffffffffffffff');
    assert.equal(del.status, isAdmin ? 404 : refusal, `${name} DELETE`);
    const get = await call(p, 'GET', `/admin/keys/${P.readAcme.id}`);
    assert.equal(get.status, isAdmin ? 200 : refusal, `${name} GET key`);
    const made = await call(p, 'POST', '/admin/keys', { name: `by-${name}`, scopes: ['read'], tenant_id: 'acme-corp' });
    assert.equal(made.status, isAdmin ? 201 : refusal, `${name} POST /admin/keys`);
    const rot = await call(p, 'POST', '/admin/keys/key_ffffffffffffffff/rotate');
    assert.equal(rot.status, isAdmin ? 404 : refusal, `${name} rotate`);
  }
  // The gateway, last: a successful call writes an event (to a scratch tenant).
  await stack.mock.reset();
  let forwarded = 0;
  for (const [name, p] of Object.entries(P)) {
    const isGatewayKey = p.auth === 'ok' && p.header?.startsWith('Bearer llmo_');
    const canIngest = isGatewayKey && (p.scopes.includes('ingest') || p.scopes.includes('admin'));
    const expected = !isGatewayKey ? 401 : !canIngest ? 403 : p.tenant ? 403 : 200;
    const r = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...(p.header ? { authorization: p.header } : {}), 'content-type': 'application/json', 'x-llmobserve-tenant': 'gw-scratch' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, expected, `${name} POST /v1/chat/completions: ${await r.text()}`);
    if (expected === 200) forwarded += 1;
  }
  assert.equal((await stack.mock.requests()).length, forwarded, 'refused calls never reached upstream');
});

test('property: random keys, tenants and queries never see a row outside their scope', async (t) => {
  const r = prng(SEED ^ 0x5eed);
  const names = Object.keys(P);
  const kinds = ['latest', 'latest', 'export', 'costs', 'costs', 'customers', 'insights', 'run'];
  const dims = ['day', 'model', 'provider', 'customer', 'section', 'endpoint'];
  const time = () => {
    const ms = T0 + r.int(-5, 95) * DAY + r.int(0, 23) * H;
    return r.pick([ms, new Date(ms).toISOString(), new Date(ms).toISOString().slice(0, 10)]);
  };
  const cases = Number(process.env.LLMOBSERVE_PROPERTY_CASES ?? 400);
  const outcomes = {};
  for (let i = 0; i < cases; i += 1) {
    const name = r.chance(0.85) ? r.pick(names.filter((n) => P[n].auth === 'ok')) : r.pick(names);
    const kind = r.pick(kinds);
    const req = { kind };
    if (r.chance(0.7)) req.tenant = r.pick([...TENANTS, 'ghost-co']);
    if (kind === 'customers' && !req.tenant) req.tenant = r.pick(TENANTS);
    if (r.chance(0.3)) req.customer = r.pick(CUSTOMERS.filter(Boolean));
    if (kind === 'run') req.run = r.pick(RUNS.filter(Boolean).concat(['no-such-run']));
    if (['latest', 'export', 'costs'].includes(kind)) {
      if (r.chance(0.3)) req.model = r.pick(MODELS.flat().filter(Boolean));
      if (r.chance(0.3)) req.section_prefix = r.pick(SECTIONS.filter(Boolean).concat(['agent:res', 'agent']));
      if (r.chance(0.2)) req.status = r.pick(['ok', 'error', '4xx', '5xx', '429', '200']);
      if (r.chance(0.2)) req.pricing_status = r.pick(['priced', 'unpriced']);
      if (r.chance(0.2)) req.run_id = r.pick(RUNS.filter(Boolean));
      if (r.chance(0.3)) req.from = time();
      if (r.chance(0.3)) req.to = time();
      if (req.from !== undefined && req.to !== undefined && toMs(req.from) > toMs(req.to)) [req.from, req.to] = [req.to, req.from];
    }
    if (kind === 'customers' && r.chance(0.3)) {
      req.from = time();
      req.to = time();
      if (toMs(req.from) > toMs(req.to)) [req.from, req.to] = [req.to, req.from];
    }
    if (kind === 'costs' && r.chance(0.8)) {
      const g = dims.filter(() => r.chance(0.35));
      if (g.length) req.group_by = g.join(',');
      if (g.includes('section') && r.chance(0.5)) req.section_depth = r.int(1, 3);
    }
    if (kind === 'insights') {
      if (r.chance(0.3)) req.from = r.pick(['2025-11-01', '2025-11-03', '2025-12-01']);
      if (r.chance(0.3)) req.severity = r.pick(['info', 'warning', 'critical']);
      if (r.chance(0.3)) req.type = r.pick(['spend_spike', 'retry_waste']);
    }
    try {
      const { status } = await checkRead(name, req);
      outcomes[status] = (outcomes[status] ?? 0) + 1;
    } catch (e) {
      e.message = `property case ${i} (seed ${SEED}; replay with LLMOBSERVE_PROPERTY_SEED=${SEED}): ${name} ${JSON.stringify(req)}\n${e.message}`;
      throw e;
    }
  }
  t.diagnostic(`${cases} random cases, seed ${SEED}: ${JSON.stringify(outcomes)}`);
  assert.ok((outcomes[200] ?? 0) > cases / 3, 'most cases reach data');
});

test('keyset pagination walks every event of a tenant once, ties on started_at included', async () => {
  for (const [name, tenant] of [['readAcme', undefined], ['adminToken', 'bigco-inc'], ['readAcmeAlice', undefined]]) {
    const p = P[name];
    const scope = readScope(p, { tenant });
    const want = EVENTS.filter((e) => inScope(scope, e)).sort(byNewest).map((e) => e.id);
    const seen = [];
    let cursor;
    for (let page = 0; page < 100; page += 1) {
      const r = await call(p, 'GET', `/runs/latest${qs({ tenant_id: tenant, limit: 7, cursor })}`);
      assert.equal(r.status, 200, r.text);
      seen.push(...r.json.data.map((e) => e.id));
      cursor = r.json.next_cursor;
      assert.equal(r.json.has_more, cursor !== null);
      if (!cursor) break;
    }
    assert.deepEqual(seen, want, `${name}: pages concatenate to the whole, in order, without repeats`);
  }
});
