// Inputs made to break things: SQL fragments in every parameter, path segment and
// header; bearer tokens with quotes, NUL bytes and great length; oversized and non-UTF-8
// ids; bad cursors and bodies. Each gets a clear 4xx (a JSON error with a stable code
// that names what to fix), never a 5xx, and nothing in D1 changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startStack } from './harness.mjs';
import { seedD1, eventRow, dumpD1 } from './d1.mjs';
import { checkResponse, DOC } from './openapi.mjs';

const T0 = Date.parse('2025-11-01T00:00:00Z');
let stack;
let readAcme;
let snapshot;

const SQL = [
  "' OR '1'='1",
  "acme-corp' --",
  "acme-corp'; DROP TABLE events; --",
  '1; DELETE FROM api_keys',
  '") OR 1=1 --',
  "x' UNION SELECT key_hash, 1 FROM api_keys --",
  'acme-corp/**/OR/**/1=1',
  '%',
  'acme_%',
];

before(async () => {
  stack = await startStack({
    prepare: (dir) => seedD1(dir, {
      events: [
        eventRow({ id: 'ev-1', tenant_id: 'acme-corp', customer_id: 'alice', run_id: 'run-1', section_path: 'agent:a', started_at: T0, cost_nanousd: 1000 }),
        eventRow({ id: 'ev-2', tenant_id: 'bigco-inc', customer_id: 'bob', run_id: 'run-1', section_path: 'agent:a', started_at: T0 + 1, cost_nanousd: 2000 }),
      ],
      insights: [{ id: 'in-1', tenant_id: 'acme-corp', day: '2025-11-01', type: 'spend_spike', severity: 'info', customer_id: null, payload: '{}', created_at: T0 }],
    }),
  });
  readAcme = (await stack.createKey({ name: 'acme-read', scopes: ['read'], tenant_id: 'acme-corp' })).key;
  snapshot = await dumpD1(stack.stateDir, { internal: false });
});

after(async () => {
  // Nothing that was refused changed anything.
  if (stack) {
    try {
      assert.deepEqual(await dumpD1(stack.stateDir, { internal: false }), snapshot, 'D1 is exactly as before the hostile requests');
    } finally {
      await stack.stop();
    }
  }
});

/** Sends a request and asserts a documented, clear 4xx. */
async function refused(method, path, { auth = stack.adminToken, headers = {}, body, status = 400, code, param } = {}) {
  const h = { ...headers };
  if (auth !== null) h.authorization = `Bearer ${auth}`;
  const r = await fetch(`${stack.url}${path}`, { method, headers: h, body });
  const text = await r.text();
  const where = `${method} ${path.slice(0, 120)}`;
  assert.equal(r.status, status, `${where}: ${text}`);
  const json = JSON.parse(text);
  assert.equal(typeof json.error.message, 'string', where);
  assert.ok(json.error.message.length > 10, `${where}: the message says what to fix`);
  assert.ok(DOC['x-error-codes'].includes(json.error.code), `${where}: code ${json.error.code} is documented`);
  if (code) assert.equal(json.error.code, code, `${where}: ${text}`);
  if (param !== undefined) assert.equal(json.error.param, param, `${where}: ${text}`);
  if (status !== 405) assert.deepEqual(checkResponse(method, path, r.status, r.headers.get('content-type'), text), [], where);
  assert.ok(!text.includes('ev-2') && !text.includes('bigco-inc'), `${where}: nothing of another tenant`);
  return json;
}

const ENDPOINTS = {
  '/runs/latest': ['tenant_id', 'customer_id', 'limit', 'cursor', 'run_id', 'section_prefix', 'model', 'provider', 'endpoint', 'status', 'pricing_status', 'from', 'to'],
  '/events': ['tenant_id', 'customer_id', 'format', 'run_id', 'section_prefix', 'model', 'provider', 'endpoint', 'status', 'pricing_status', 'from', 'to'],
  '/costs': ['tenant_id', 'customer_id', 'group_by', 'section_depth', 'run_id', 'section_prefix', 'model', 'provider', 'endpoint', 'status', 'pricing_status', 'from', 'to'],
  '/insights/daily': ['tenant_id', 'customer_id', 'date', 'from', 'to', 'type', 'severity', 'limit', 'cursor'],
  '/tenants/acme-corp/customers': ['customer_id', 'from', 'to', 'limit', 'cursor'],
  '/runs/run-1': ['tenant_id', 'customer_id'],
  '/admin/keys': ['tenant_id', 'include_revoked'],
};

test('SQL fragments in every query parameter of every endpoint are a 400 naming the parameter', async () => {
  let n = 0;
  for (const [path, params] of Object.entries(ENDPOINTS)) {
    for (const param of params) {
      for (const sql of SQL) {
        const base = path === '/runs/latest' || path === '/events' || path === '/costs' || path === '/insights/daily' || path === '/runs/run-1'
          ? (param === 'tenant_id' ? {} : { tenant_id: 'acme-corp' }) : {};
        const q = new URLSearchParams({ ...base, [param]: sql });
        // Every payload with the admin token; a few with a tenant-bound key as well.
        for (const auth of [stack.adminToken, readAcme]) {
          if (auth === readAcme && (path === '/admin/keys' || SQL.indexOf(sql) > 2)) continue;
          const p = `${path}?${q}`;
          await refused('GET', p, { auth, param, status: 400 });
          n += 1;
        }
      }
    }
  }
  assert.ok(n > 500, `${n} requests`);
});

test('SQL fragments and oversized or non-UTF-8 values in path segments are a 400', async () => {
  for (const sql of SQL) {
    const seg = encodeURIComponent(sql);
    await refused('GET', `/runs/${seg}?tenant_id=acme-corp`, { param: 'run_id', code: 'invalid_run_id' });
    await refused('GET', `/tenants/${seg}/customers`, { param: 'tenant_id', code: 'invalid_tenant' });
    await refused('GET', `/admin/keys/${seg}`, { param: 'key_id', code: 'invalid_key_id' });
    await refused('DELETE', `/admin/keys/${seg}`, { param: 'key_id', code: 'invalid_key_id' });
    await refused('POST', `/admin/keys/${seg}/rotate`, { param: 'key_id', code: 'invalid_key_id' });
  }
  await refused('GET', `/runs/${'r'.repeat(129)}?tenant_id=acme-corp`, { code: 'invalid_run_id' });
  await refused('GET', `/runs/${'r'.repeat(5000)}?tenant_id=acme-corp`, { code: 'invalid_run_id' });
  await refused('GET', `/tenants/${'t'.repeat(129)}/customers`, { code: 'invalid_tenant' });
  await refused('GET', '/runs/%FF%FE?tenant_id=acme-corp', { code: 'invalid_run_id', param: 'run_id' });
  await refused('GET', '/runs/%C3%28?tenant_id=acme-corp', { code: 'invalid_run_id' });
  await refused('GET', '/tenants/%FFacme/customers', { code: 'invalid_tenant' });
  await refused('GET', '/runs/run%00-1?tenant_id=acme-corp', { code: 'invalid_run_id' });
  await refused('GET', '/runs/%ZZ?tenant_id=acme-corp', { code: 'invalid_run_id' });
});

test('oversized, non-UTF-8, repeated, unknown and out-of-range parameters are a 400', async () => {
  await refused('GET', `/runs/latest?tenant_id=${'a'.repeat(129)}`, { code: 'invalid_tenant', param: 'tenant_id' });
  await refused('GET', `/runs/latest?tenant_id=acme-corp&customer_id=${'c'.repeat(10_000)}`, { code: 'query_too_long' });
  await refused('GET', '/runs/latest?tenant_id=%FF%FE', { code: 'invalid_encoding', param: 'tenant_id' });
  await refused('GET', '/runs/latest?tenant_id=acme%00corp', { code: 'invalid_encoding', param: 'tenant_id' });
  await refused('GET', '/runs/latest?tenant_id=acme-corp&model=gpt%E2%82', { code: 'invalid_encoding', param: 'model' });
  await refused('GET', '/runs/latest?tenant_id=%E2%80%AEacme', { code: 'invalid_tenant' });
  await refused('GET', '/runs/latest?tenant_id=acme-corp&tenant_id=bigco-inc', { code: 'duplicate_parameter', param: 'tenant_id' });
  await refused('GET', '/runs/latest?tenant_id=acme-corp&tennant_id=x', { code: 'unknown_parameter', param: 'tennant_id' });
  await refused('GET', '/costs?tenant_id=acme-corp&group_by=day,day', { code: 'invalid_group_by' });
  await refused('GET', '/costs?tenant_id=acme-corp&section_depth=2', { code: 'invalid_section_depth' });
  for (const limit of ['0', '501', '-1', '1e3', '50.5', '', '99999999999999999999']) {
    await refused('GET', `/runs/latest?tenant_id=acme-corp&limit=${limit}`, { code: 'invalid_limit', param: 'limit' });
  }
  await refused('GET', '/runs/latest?tenant_id=acme-corp&from=2025-12-01&to=2025-11-01', { code: 'invalid_time_range', param: 'to' });
  await refused('GET', '/runs/latest?tenant_id=acme-corp&from=2025-02-30', { code: 'invalid_time', param: 'from' });
  await refused('GET', '/runs/latest?tenant_id=acme-corp&status=6xx', { code: 'invalid_status' });
  await refused('GET', '/events?tenant_id=acme-corp&format=xml', { code: 'invalid_format' });
  await refused('GET', '/runs/latest', { code: 'tenant_required', param: 'tenant_id' });
});

test('bad cursors are a 400, including cursors of another endpoint and forged ones', async () => {
  const bad = ['', 'x', '.', '1.', '.ev-1', '-5.ev-1', '1.ev 1', "1.ev-1' OR '1'='1", '99999999999999999.ev-1', `1.${'a'.repeat(200)}`,
    'o5', 'eyJ0ZW5hbnQiOiJiaWdjby1pbmMifQ==', '1764288000000.ev-1.%00'];
  for (const c of bad) {
    await refused('GET', `/runs/latest?tenant_id=acme-corp&cursor=${encodeURIComponent(c)}`, { code: c.includes('%00') ? undefined : 'invalid_cursor', param: 'cursor' });
  }
  for (const c of ['1764288000000.ev-1', 'o', 'o-1', 'oABC', 'o99999999999']) {
    await refused('GET', `/tenants/acme-corp/customers?cursor=${encodeURIComponent(c)}`, { code: 'invalid_cursor', param: 'cursor' });
    await refused('GET', `/insights/daily?tenant_id=acme-corp&cursor=${encodeURIComponent(c)}`, { code: 'invalid_cursor', param: 'cursor' });
  }
  // A valid cursor from one tenant's page, replayed by another tenant's key, only moves
  // the position: the scope still comes from the key.
  const r = await fetch(`${stack.url}/runs/latest?cursor=9999999999999.zzz`, { headers: { authorization: `Bearer ${readAcme}` } });
  const page = await r.json();
  assert.deepEqual(page.data.map((e) => e.id), ['ev-1']);
});

test('SQL in headers: read endpoints ignore every header but authorization; the gateway refuses bad attribution', async () => {
  const clean = await (await fetch(`${stack.url}/runs/latest?tenant_id=acme-corp`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).text();
  for (const sql of SQL) {
    const headers = {
      authorization: `Bearer ${stack.adminToken}`,
      'x-llmobserve-tenant': sql, 'x-llmobserve-customer': sql, cookie: `session=${sql}`, 'user-agent': sql,
      'x-forwarded-for': sql, accept: sql, 'accept-language': sql, 'x-tenant-id': sql,
    };
    const r = await fetch(`${stack.url}/runs/latest?tenant_id=acme-corp`, { headers });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), clean, `the answer does not depend on ${sql}`);
    await refused('GET', '/runs/latest?tenant_id=acme-corp', { auth: sql, status: 401, code: 'invalid_api_key' });
  }
  await stack.mock.reset();
  assert.deepEqual(await dumpD1(stack.stateDir, { internal: false }), snapshot);
  const ingest = (await stack.createKey({ name: 'ingest', scopes: ['ingest'] })).key;
  snapshot = await dumpD1(stack.stateDir, { internal: false });
  for (const sql of SQL) {
    for (const header of ['x-llmobserve-tenant', 'x-llmobserve-customer', 'x-llmobserve-section', 'x-llmobserve-run-id', 'x-llmobserve-attempt']) {
      await refused('POST', '/v1/chat/completions', {
        auth: ingest, headers: { [header]: sql, 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini","messages":[]}',
        code: 'invalid_attribution_header', param: header,
      });
    }
  }
  assert.equal((await stack.mock.requests()).length, 0, 'nothing went upstream');
});

/** Sends raw bytes over TCP and returns the status code (or 0 if the server closed the connection). */
function rawRequest(bytes) {
  const { port } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d.toString('latin1'); });
    sock.on('end', () => resolve(Number(data.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0)));
    sock.on('error', () => resolve(0));
    sock.setTimeout(10_000, () => { sock.destroy(); reject(new Error('raw request timed out')); });
    sock.end(Buffer.concat([Buffer.from(bytes, 'latin1')]));
  });
}

test('bearer tokens with quotes, NUL bytes, control and non-UTF-8 bytes, or great length are refused', async (t) => {
  for (const token of ['"llmo_abc"', "llmo_'", 'llmo_\\x', '"', `${stack.adminToken}"`, `"${stack.adminToken}"`, 'a'.repeat(513), `llmo_${'a'.repeat(10_000)}`]) {
    await refused('GET', '/runs/latest?tenant_id=acme-corp', { auth: token, status: 401, code: 'invalid_api_key' });
  }
  await refused('GET', '/runs/latest?tenant_id=acme-corp', { auth: null, headers: { authorization: `Token ${stack.adminToken}` }, status: 401 });
  // fetch refuses NUL and non-Latin-1 header bytes itself, so these go over a raw socket.
  const head = (auth, target = '/runs/latest?tenant_id=acme-corp') =>
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`;
  const raw = [
    head(`Bearer ${stack.adminToken}\x00`),
    head(`Bearer \x00${stack.adminToken}`),
    head(`Bearer llmo_${'a'.repeat(32)}\x00${'a'.repeat(32)}`),
    head(`Bearer ${stack.adminToken}\x01`),
    head(`Bearer ${stack.adminToken}\xff\xfe`),
    head(`Bearer "${stack.adminToken}\x00"`),
    head(`Bearer ${stack.adminToken}`, '/runs/\xff\xfe?tenant_id=acme-corp'),
    head(`Bearer ${stack.adminToken}`, '/runs/latest?tenant_id=acme\x00corp'),
  ];
  const statuses = [];
  for (const bytes of raw) {
    const status = await rawRequest(bytes);
    statuses.push(status);
    assert.ok(status === 0 || (status >= 400 && status < 500), `raw request got ${status}: ${JSON.stringify(bytes).slice(0, 120)}`);
  }
  t.diagnostic(`raw requests answered ${statuses.join(', ')} (0: connection closed by the runtime's HTTP parser)`);
});

test('bad admin bodies are a 400 (or 413) that says what to send, and create nothing', async () => {
  const cases = [
    ['not json', 'invalid_body'],
    ['{"name":"x","scopes":["read"],"tenant":"acme-corp"}', 'invalid_body'],
    ['{"name":"x","scopes":"read"}', 'invalid_body'],
    ['{"name":"","scopes":["read"]}', 'invalid_name'],
    ['{"name":"x\\u0000y","scopes":["read"]}', 'invalid_name'],
    [`{"name":"${'n'.repeat(101)}","scopes":["read"]}`, 'invalid_name'],
    ['{"name":"x","scopes":[]}', 'invalid_scope'],
    ['{"name":"x","scopes":["read","superuser"]}', 'invalid_scope'],
    ['{"name":"x","scopes":["admin"],"tenant_id":"acme-corp"}', 'invalid_scope'],
    ['{"name":"x","scopes":["read"],"customer_id":"alice"}', 'invalid_customer'],
    ['{"name":"x","scopes":["read","ingest"],"tenant_id":"acme-corp","customer_id":"alice"}', 'invalid_scope'],
    [`{"name":"x","scopes":["read"],"tenant_id":"acme-corp' OR '1'='1"}`, 'invalid_tenant'],
    ['{"name":"x","scopes":["read"],"expires_at":"2000-01-01"}', 'invalid_expires_at'],
    ['{"name":"x","scopes":["read"],"expires_at":"soon"}', 'invalid_expires_at'],
  ];
  for (const [body, code] of cases) {
    await refused('POST', '/admin/keys', { body, code, headers: { 'content-type': 'application/json' } });
  }
  await refused('POST', '/admin/keys', { body: `{"name":"${'x'.repeat(20_000)}"}`, status: 413, code: 'body_too_large' });
  assert.deepEqual(await dumpD1(stack.stateDir, { internal: false }), snapshot, 'no refused body created anything');
  const key = await stack.createKey({ name: 'rotate-me', scopes: ['read'] });
  snapshot = await dumpD1(stack.stateDir, { internal: false });
  await refused('POST', `/admin/keys/${key.id}/rotate`, { body: '{"grace_period_seconds":604801}', code: 'invalid_grace_period' });
  await refused('POST', `/admin/keys/${key.id}/rotate`, { body: '{"grace":1}', code: 'invalid_body' });
  await refused('POST', `/admin/keys/${key.id}/rotate`, { body: '{"grace_period_seconds":-1}', code: 'invalid_body' });
});

test('wrong methods are a 405 that lists the allowed ones', async () => {
  for (const [method, path, allow] of [['POST', '/runs/latest', 'GET'], ['PUT', '/admin/keys/key_0123456789abcdef', 'GET, DELETE'],
    ['DELETE', '/costs', 'GET'], ['PATCH', '/tenants/acme-corp/customers', 'GET'], ['GET', '/admin/keys/key_0123456789abcdef/rotate', 'POST']]) {
    const r = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${stack.adminToken}` } });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.headers.get('allow'), allow);
    assert.equal((await r.json()).error.code, 'method_not_allowed');
  }
});
