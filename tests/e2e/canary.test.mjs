// No OpenAI key ever leaks: the gateway's own key (managed mode) and a caller's key
// (pass-through mode) are canaries. After a run of every kind of traffic (priced calls,
// streams, upstream errors, refused calls, every read and admin endpoint), every
// response (status line, headers, body), every log line of the runtime, every row of
// every D1 table and every byte that the runtime persisted are searched for them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startStack } from './harness.mjs';
import { dumpD1 } from './d1.mjs';

const CANARY_UPSTREAM = `sk-proj-CANARYupstream${randomBytes(12).toString('hex')}`;
const CANARY_CALLER = `sk-proj-CANARYcaller${randomBytes(12).toString('hex')}`;
const CANARIES = [CANARY_UPSTREAM, CANARY_CALLER];

let stack;
const responses = [];

/** fetch that keeps a copy of every response from the worker. */
async function recordingFetch(input, init) {
  const res = await fetch(input, init);
  const url = typeof input === 'string' ? input : input.url;
  if (url.startsWith(stack.url)) {
    const copy = res.clone();
    const body = Buffer.from(await copy.arrayBuffer()).toString('latin1');
    responses.push({ url, status: res.status, headers: JSON.stringify([...res.headers]), body });
  }
  return res;
}

async function api(method, path, { auth, headers = {}, body } = {}) {
  const h = { ...headers };
  if (auth) h.authorization = `Bearer ${auth}`;
  const r = await recordingFetch(`${stack.url}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, text, json };
}

before(async () => { stack = await startStack({ upstreamApiKey: CANARY_UPSTREAM }); });
after(async () => { await stack?.stop(); });

test('the gateway\'s and the caller\'s OpenAI keys appear in no response, log line, D1 row or persisted byte', async () => {
  const admin = stack.adminToken;
  const app = (await api('POST', '/admin/keys', { auth: admin, body: { name: 'app', scopes: ['ingest', 'read'] } })).json;
  const client = (opts) => new OpenAI({ baseURL: `${stack.url}/v1`, maxRetries: 0, fetch: recordingFetch, ...opts });
  const managed = client({ apiKey: app.key });
  const passThrough = client({ apiKey: CANARY_CALLER, defaultHeaders: { 'x-llmobserve-key': app.key } });
  const attribution = (tenant, customer, section, run) => ({ headers: {
    'x-llmobserve-tenant': tenant, 'x-llmobserve-customer': customer, 'x-llmobserve-section': section, 'x-llmobserve-run-id': run,
    'x-mock-prompt-tokens': '120', 'x-mock-completion-tokens': '30' } });

  // Priced calls, both modes, two tenants.
  for (const [c, tenant] of [[managed, 'acme-corp'], [passThrough, 'acme-corp'], [managed, 'bigco-inc'], [passThrough, 'bigco-inc']]) {
    await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      attribution(tenant, 'alice', 'agent:research/tool:search', 'run-canary'));
  }
  // Streams, both modes (read to the end).
  for (const c of [managed, passThrough]) {
    const stream = await c.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      attribution('acme-corp', 'bob', 'agent:research/step:stream', 'run-canary'));
    for await (const _ of stream) { /* drain */ }
  }
  // Upstream errors (401 like a bad OpenAI key, 429, 500), both modes.
  for (const status of ['401', '429', '500']) {
    for (const c of [managed, passThrough]) {
      await assert.rejects(c.chat.completions.create({ model: 'gpt-4o', messages: [] }, { headers: { 'x-mock-status': status, 'x-llmobserve-tenant': 'acme-corp' } }));
    }
  }
  // Refused before upstream: the caller's OpenAI key as the gateway key, a bad gateway key
  // next to it, a revoked key, bad attribution.
  await assert.rejects(client({ apiKey: CANARY_CALLER }).chat.completions.create({ model: 'gpt-4o-mini', messages: [] }), (e) => e.status === 401);
  await assert.rejects(client({ apiKey: CANARY_CALLER, defaultHeaders: { 'x-llmobserve-key': `llmo_${'0'.repeat(64)}` } })
    .chat.completions.create({ model: 'gpt-4o-mini', messages: [] }), (e) => e.status === 401);
  await assert.rejects(client({ apiKey: CANARY_CALLER, defaultHeaders: { 'x-llmobserve-key': CANARY_CALLER } })
    .chat.completions.create({ model: 'gpt-4o-mini', messages: [] }), (e) => e.status === 401);
  await assert.rejects(passThrough.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }, { headers: { 'x-llmobserve-section': 'a//b' } }), (e) => e.status === 400);
  // Other gateway paths, both modes.
  await passThrough.models.list();
  await managed.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' }).catch(() => {});

  // The caller's key sent to every read and admin endpoint, as a bearer token and in headers.
  const reads = ['/runs/latest?tenant_id=acme-corp', '/runs/run-canary?tenant_id=acme-corp', '/tenants/acme-corp/customers',
    '/costs?tenant_id=acme-corp&group_by=day,model,customer,section', '/events?tenant_id=acme-corp', '/events?tenant_id=acme-corp&format=csv',
    '/insights/daily?tenant_id=acme-corp', '/admin/keys', `/admin/keys/${app.id}`, '/health', '/openapi.json'];
  for (const path of reads) {
    assert.equal((await api('GET', path, { auth: admin, headers: { 'x-openai-key': CANARY_CALLER, 'openai-organization': CANARY_CALLER } })).status, 200, path);
    const bad = await api('GET', path, { auth: CANARY_CALLER });
    assert.ok([200, 401].includes(bad.status), path);
    await api('GET', path, { headers: { authorization: `Bearer "${CANARY_CALLER}"` } });
    await api('GET', path, { headers: { authorization: CANARY_CALLER } });
  }
  await api('GET', `/runs/latest?tenant_id=acme-corp&cursor=${CANARY_CALLER}`, { auth: admin });
  await api('POST', '/admin/keys', { auth: CANARY_CALLER, body: { name: 'x' } });
  // Key lifecycle.
  const rk = (await api('POST', '/admin/keys', { auth: admin, body: { name: 'acme-read', scopes: ['read'], tenant_id: 'acme-corp' } })).json;
  await api('POST', `/admin/keys/${rk.id}/rotate`, { auth: admin, body: { grace_period_seconds: 60 } });
  await api('DELETE', `/admin/keys/${rk.id}`, { auth: admin });

  // The events were written (off the response path): wait until all are there.
  await stack.waitForEvents('acme-corp', (d) => d.length >= 10);
  await stack.waitForEvents('default', (d) => d.length >= 2);

  // The canaries travelled: upstream saw the gateway's key and the caller's key.
  const seen = JSON.stringify(await stack.mock.requests());
  assert.ok(seen.includes(CANARY_UPSTREAM) && seen.includes(CANARY_CALLER), 'both keys reached upstream');

  // 1. Responses.
  assert.ok(responses.length > 60, `${responses.length} responses recorded`);
  for (const r of responses) {
    for (const c of CANARIES) {
      assert.ok(!`${r.status} ${r.headers} ${r.body}`.includes(c), `${r.url} (${r.status}) contains a canary`);
      assert.ok(!r.body.includes(c.slice(-12)), `${r.url} contains the tail of a canary`);
    }
  }
  // 2. Log lines of the runtime (wrangler dev and workerd).
  const logs = stack.logs();
  assert.ok(logs.length > 0);
  for (const c of CANARIES) assert.ok(!logs.includes(c) && !logs.includes(c.slice(-12)), 'a canary is in the worker log');
  // 3. Every row of every D1 table.
  const rows = JSON.stringify(await dumpD1(stack.stateDir));
  assert.ok(rows.includes('acme-corp') && rows.includes('run-canary'), 'the dump holds the run');
  for (const c of CANARIES) assert.ok(!rows.includes(c) && !rows.includes(c.slice(-12)), 'a canary is in D1');
  // 4. Every byte the runtime persisted (D1 files with their WAL, caches).
  const files = [];
  const walk = async (dir) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p); else files.push(p);
    }
  };
  await walk(join(stack.stateDir, 'v3'));
  assert.ok(files.length > 0);
  for (const f of files) {
    const bytes = await readFile(f);
    for (const c of CANARIES) assert.ok(!bytes.includes(c) && !bytes.includes(c.slice(-12)), `${f} holds a canary`);
  }
  // Gateway secrets are stored as hashes only: none is in a log, a row or a file.
  for (const secret of [app.key, rk.key]) {
    assert.ok(!logs.includes(secret), 'a gateway key is in the worker log');
    assert.ok(!rows.includes(secret) && !rows.includes(secret.slice(5)), 'a gateway key is in D1');
  }
});
