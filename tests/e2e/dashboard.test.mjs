// The dashboard in a real browser: Debian's Chromium (playwright-core) against the real
// worker under wrangler dev, which serves the built dashboard through its assets binding,
// on a local D1 seeded with known data. Every number on screen is compared with the read
// API's answer and with totals computed here from the seed. Screenshots of each page go
// to target/dashboard-screenshots/ (printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startStack, ROOT } from './harness.mjs';
import { seedD1, eventRow } from './d1.mjs';
import { launchChromium } from './browser.mjs';

const SHOTS = join(ROOT, 'target/dashboard-screenshots');
const FROM = '2025-11-08';
const TO = '2025-11-14'; // included
const RANGE = `from=${FROM}&to=${TO}`;
const day = (d) => Date.parse(`${d}T00:00:00Z`);
const CUR = [day(FROM), day('2025-11-15')];
const PREV = [day('2025-11-01'), day(FROM)];
const OTHER = 'globex-secret';

// ---- the seed: known data, and the answers computed from it ----
const MODELS = [['gpt-4o-mini', 'openai'], ['gpt-4o', 'openai'], ['claude-sonnet-4-5', 'anthropic']];
const CUSTOMERS = ['alice', 'bob', 'charlie'];
const SECTIONS = ['agent:research/tool:search', 'agent:research/step:analyze', 'agent:writer', null];

function seed() {
  const events = [];
  let n = 0;
  const add = (e) => events.push(eventRow({ tenant_id: 'acme-corp', ...e }));
  for (const [first, perDay, prefix] of [['2025-11-08', 4, 'cur'], ['2025-11-01', 2, 'prev']]) {
    for (let d = 0; d < 7; d += 1) {
      for (let i = 0; i < perDay; i += 1) {
        MODELS.forEach(([model, provider], m) => {
          n += 1;
          add({ id: `${prefix}-${String(n).padStart(4, '0')}`, started_at: day(first) + d * 86_400_000 + i * 3_600_000 + m * 60_000,
            request_model: model, provider, customer_id: CUSTOMERS[n % 3], section_path: SECTIONS[n % 4],
            status_code: n % 13 === 0 ? 429 : 200, cost_nanousd: 1_000_000 * (1 + (n % 17)) + m * 333,
            input_tokens: 100 + n, output_tokens: 10 + (n % 50), latency_ms: 200 + 7 * (n % 40) });
        });
      }
    }
  }
  for (let i = 0; i < 3; i += 1) {
    add({ id: `unpriced-${i}`, started_at: day('2025-11-12') + i * 1000, request_model: 'mystery-model-x', customer_id: 'charlie', cost_nanousd: null, input_tokens: 50, output_tokens: 5 });
  }
  // One run with nested sections, a retried step (attempt 1 failed and superseded) and a cancelled stream.
  const r = { run_id: 'run-tree-1', customer_id: 'alice' };
  const t = day('2025-11-10') + 12 * 3_600_000;
  add({ ...r, id: 'run-a', started_at: t, section_path: 'agent:research/tool:search', cost_nanousd: 2_000_000, input_tokens: 100, output_tokens: 50, latency_ms: 400 });
  add({ ...r, id: 'run-b', started_at: t + 500, section_path: 'agent:research/step:analyze/retry:llm:attempt_1', attempt: 1, status_code: 500, cost_nanousd: 1_500_000, input_tokens: 80, output_tokens: 0, latency_ms: 300 });
  add({ ...r, id: 'run-c', started_at: t + 900, section_path: 'agent:research/step:analyze/retry:llm:attempt_2', attempt: 2, is_retry: 1, retry_of: 'run-b', cost_nanousd: 1_500_000, input_tokens: 80, output_tokens: 40, latency_ms: 350 });
  add({ ...r, id: 'run-d', started_at: t + 1500, section_path: 'agent:writer', outcome: 'stream_cancelled', usage_source: 'estimated', is_stream: 1, cost_nanousd: 700_000, input_tokens: 60, output_tokens: 12, latency_ms: 900 });
  add({ ...r, id: 'run-e', started_at: t + 2600, section_path: null, cost_nanousd: 300_000, input_tokens: 20, output_tokens: 2, latency_ms: 100 });
  // Another tenant, whose names must never reach acme's screens.
  for (let i = 0; i < 5; i += 1) {
    events.push(eventRow({ id: `globex-${i}`, tenant_id: OTHER, customer_id: 'globex-only-customer', run_id: 'globex-run', section_path: 'agent:globex-agent',
      request_model: 'globex-private-model', started_at: day('2025-11-10') + i, cost_nanousd: null }));
  }
  const insight = (id, tenant, d, type, severity, customer, payload) => ({ id, tenant_id: tenant, day: d, type, severity, customer_id: customer, payload: JSON.stringify(payload), created_at: day(d) + 86_400_000 });
  const insights = [
    insight('in-spike', 'acme-corp', '2025-11-12', 'spend_spike', 'critical', null,
      { explanation: 'Spend on 2025-11-12 was 3.2 times the trailing 7-day average.', spend_usd: '12.5', baseline_usd: '3.906', ratio: 3.2 }),
    insight('in-top', 'acme-corp', '2025-11-13', 'top_customers', 'info', null,
      { explanation: 'alice caused most of the spend.', customers: [{ customer_id: 'alice', cost_usd: '1.25' }, { customer_id: 'bob', cost_usd: '0.5' }] }),
    insight('in-new', 'acme-corp', '2025-11-11', 'brand_new_kind', 'warning', 'bob', { message: 'Something the dashboard has never seen.', widgets: 4200, share_pct: 12.5 }),
    insight('in-globex', OTHER, '2025-11-12', 'spend_spike', 'critical', null, { explanation: 'globex-secret spent a lot.' }),
  ];
  // Two events that the dead-letter consumer could not write (docs/delivery.md): the
  // overview's delivery card shows the deployment's count (a number, never their content).
  const ingest_failures = ['evt-lost-1', 'evt-lost-2'].map((id, i) => ({ event_id: id, tenant_id: i ? OTHER : 'acme-corp',
    stage: 'dead_letter', reason: 'constraint failed', failed_at: day('2025-11-12'), event_row: '{}' }));
  return { events, insights, ingest_failures };
}

const SEED = seed();
const acme = SEED.events.filter((e) => e.tenant_id === 'acme-corp');
const inRange = ([a, b], e) => e.started_at >= a && e.started_at < b;
const cur = acme.filter((e) => inRange(CUR, e));
const prev = acme.filter((e) => inRange(PREV, e));
const sumNano = (es) => es.reduce((s, e) => s + BigInt(e.cost_nanousd ?? 0), 0n);
/** Nano-USD as the API's exact decimal string, written independently of the dashboard's. */
const usd = (nanos) => {
  const s = nanos.toString().padStart(10, '0');
  const frac = s.slice(-9).replace(/0+$/, '');
  return `${BigInt(s.slice(0, -9))}${frac ? `.${frac}` : ''}`;
};
/** What a shown amount reads as, in dollars ("$1,234.57" -> 1234.57). */
const shown = (text) => Number(text.replace(/[$,]/g, ''));

// ---- the stack and the browser ----
let stack;
let browser;
const keys = {};
const apiJson = async (path, key) => {
  const r = await stack.api('GET', path, { auth: key });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
};

before(async () => {
  stack = await startStack({ prepare: (dir) => seedD1(dir, SEED) });
  keys.acme = (await stack.createKey({ name: 'acme-dash', scopes: ['read'], tenant_id: 'acme-corp' })).key;
  keys.alice = (await stack.createKey({ name: 'alice-dash', scopes: ['read'], tenant_id: 'acme-corp', customer_id: 'alice' })).key;
  keys.empty = (await stack.createKey({ name: 'empty-dash', scopes: ['read'], tenant_id: 'empty-co' })).key;
  keys.ingest = (await stack.createKey({ name: 'ingest-only', scopes: ['ingest'], tenant_id: 'acme-corp' })).key;
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
  console.log(`dashboard screenshots: ${SHOTS}`);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A fresh browser context (its own storage) signed in with `key`; every request is recorded. */
async function signedIn(key, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push({ url: r.url(), auth: r.headers().authorization }));
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack.url}/`);
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  return { context, page, requests, errors };
}

async function go(page, hash, ready) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(ready);
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const text = (page, sel) => page.locator(sel).innerText();

/** The other tenant's names appear nowhere in the document. */
async function assertNoLeak(page, where) {
  const html = await page.content();
  for (const secret of [OTHER, 'globex-only-customer', 'globex-private-model', 'globex-agent']) {
    assert.ok(!html.includes(secret), `${where}: "${secret}" is on the page`);
  }
}

test('a bad key gets an error that says what to do; a key without the read scope too', async () => {
  const bad = await signedIn(`llmo_${'0'.repeat(64)}`);
  await bad.page.waitForSelector('[data-state=error]');
  assert.match(await text(bad.page, '[data-state=error]'), /not accepted.*revoked, expired or rotated out/s);
  assert.ok(await bad.page.isVisible('#key'), 'the sign-in form is offered again');
  await shot(bad.page, 'signin-bad-key');
  await bad.context.close();
  const ingest = await signedIn(keys.ingest);
  await ingest.page.waitForSelector('[data-state=error]');
  assert.match(await text(ingest.page, '[data-state=error]'), /lacks the read scope/);
  await ingest.context.close();
});

test('overview: totals, change against the previous period, and spend by model, as the API and the seed say', async () => {
  const { page, context, requests, errors } = await signedIn(keys.acme);
  await go(page, `#/overview?${RANGE}`, '[data-metric=spend]');
  await page.waitForSelector('table tbody tr');
  const api = await apiJson(`/costs?from=${FROM}&to=2025-11-15`, keys.acme);
  const apiPrev = await apiJson(`/costs?from=2025-11-01&to=${FROM}`, keys.acme);
  // Spend: exact in data-usd, equal to the API's and to the seed's sum; the text reads the same amount.
  const spend = page.locator('[data-metric=spend] .money');
  assert.equal(await spend.getAttribute('data-usd'), api.totals.cost_usd);
  assert.equal(api.totals.cost_usd, usd(sumNano(cur)));
  assert.ok(Math.abs(shown(await spend.innerText()) - Number(usd(sumNano(cur)))) < 0.005, await spend.innerText());
  assert.equal(await text(page, '[data-metric=calls] .metric-value'), String(cur.length));
  assert.equal(api.totals.calls, cur.length);
  const errorsSeeded = cur.filter((e) => e.status_code >= 300).length;
  assert.equal(await text(page, '[data-metric=errors] .metric-value'), String(errorsSeeded));
  assert.equal(await text(page, '[data-metric=unpriced] .metric-value'), '3');
  // Delivery: the two parked events, from /health, flagged; no other tenant's name with them.
  await page.waitForSelector('[data-metric=delivery][data-unwritten]');
  assert.equal(await text(page, '[data-metric=delivery] .metric-value'), '2');
  assert.match(await page.locator('[data-metric=delivery]').getAttribute('class'), /\bwarn\b/);
  assert.doesNotMatch(await text(page, '[data-metric=delivery]'), new RegExp(OTHER));
  const tokens = cur.reduce((s, e) => s + e.input_tokens + e.output_tokens, 0);
  assert.equal(await text(page, '[data-metric=tokens] .metric-value'), tokens.toLocaleString('en-US'));
  // Change against the 7 days before, computed here from the seed.
  await page.waitForSelector('[data-metric=spend] .delta[data-delta]');
  assert.equal(apiPrev.totals.cost_usd, usd(sumNano(prev)));
  const pct = (Number(sumNano(cur) - sumNano(prev)) * 100) / Number(sumNano(prev));
  assert.equal(await page.locator('[data-metric=spend] .delta').getAttribute('data-delta'), `+${pct.toFixed(1)}%`);
  const callsPct = ((cur.length - prev.length) * 100) / prev.length;
  assert.equal(await page.locator('[data-metric=calls] .delta').getAttribute('data-delta'), `+${callsPct.toFixed(1)}%`);
  // By model: every row as /costs?group_by=model says, and as the seed sums.
  const byModel = await apiJson(`/costs?from=${FROM}&to=2025-11-15&group_by=model`, keys.acme);
  const rows = page.locator('table tbody tr');
  assert.equal(await rows.count(), byModel.data.length);
  for (const g of byModel.data) {
    const row = page.locator(`tr[data-key="${g.model}"]`);
    assert.equal(await row.locator('.money').getAttribute('data-usd'), g.unpriced_calls === g.calls ? 'unpriced' : g.cost_usd, g.model);
    assert.equal(g.cost_usd, usd(sumNano(cur.filter((e) => e.request_model === g.model))));
    assert.equal(await row.locator('td').nth(3).innerText(), String(g.calls));
  }
  // The chart is drawn (by the charting library, into its canvas).
  const painted = await page.waitForFunction(() => {
    const c = document.querySelector('.chart canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let colored = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && !(d[i] === d[i + 1] && d[i + 1] === d[i + 2])) colored += 1;
    return colored > 500 && colored;
  }, null, { timeout: 10_000 });
  assert.ok(await painted.jsonValue() > 500, 'the chart has coloured bars');
  // By provider.
  await page.selectOption('#split', 'provider');
  await page.click('form[aria-label="Date range"] button[type=submit]');
  await page.waitForSelector('tr[data-key=anthropic]');
  assert.equal(await page.locator('tr[data-key=anthropic] .money').getAttribute('data-usd'), usd(sumNano(cur.filter((e) => e.provider === 'anthropic'))));
  await page.selectOption('#split', 'model');
  await page.click('form[aria-label="Date range"] button[type=submit]');
  await page.waitForSelector('tr[data-key="gpt-4o"]');
  await assertNoLeak(page, 'overview');
  await shot(page, 'overview');
  // The key never appears in a URL, and every API call carried it as a bearer token.
  assert.ok(!page.url().includes(keys.acme));
  for (const r of requests) assert.ok(!r.url.includes(keys.acme), `the key is in ${r.url}`);
  const apiCalls = requests.filter((r) => /\/(costs|runs|tenants|insights|pricing)/.test(r.url));
  assert.ok(apiCalls.length >= 4);
  for (const r of apiCalls) assert.equal(r.auth, `Bearer ${keys.acme}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('runs: pages of 50, newest first, and each filter narrows the list as the seed says', async () => {
  const { page, context } = await signedIn(keys.acme);
  await go(page, `#/runs?${RANGE}`, 'tr[data-event]');
  const newestFirst = [...cur].sort((a, b) => b.started_at - a.started_at || (b.id < a.id ? -1 : 1)).map((e) => e.id);
  const ids = () => page.locator('tr[data-event]').evaluateAll((rs) => rs.map((r) => r.dataset.event));
  assert.deepEqual(await ids(), newestFirst.slice(0, 50));
  await shot(page, 'runs');
  await page.click('a[rel=next]');
  await page.waitForFunction((first) => { const r = document.querySelector('tr[data-event]'); return r && r.dataset.event !== first; }, newestFirst[0]);
  assert.deepEqual(await ids(), newestFirst.slice(50));
  assert.equal(await page.locator('a[rel=next]').count(), 0, 'the last page has no next');
  await page.click('a[rel=prev]');
  await page.waitForFunction((first) => document.querySelector('tr[data-event]')?.dataset.event === first, newestFirst[0]);
  // The filters, through the form.
  const filtered = async (fill, pred, label) => {
    await go(page, `#/runs?${RANGE}`, 'tr[data-event]');
    await fill();
    await page.click('form[aria-label="Date range"] button[type=submit]');
    const want = newestFirst.filter((id) => pred(cur.find((e) => e.id === id)));
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-event]').length === n && document.querySelector('[data-count]'), Math.min(want.length, 50));
    assert.deepEqual(await ids(), want.slice(0, 50), label);
  };
  await filtered(() => page.selectOption('#f-model', 'gpt-4o'), (e) => e.request_model === 'gpt-4o', 'model');
  await filtered(() => page.fill('#f-customer', 'bob'), (e) => e.customer_id === 'bob', 'customer');
  await filtered(() => page.fill('#f-section', 'agent:research'), (e) => (e.section_path ?? '').startsWith('agent:research'), 'section');
  await filtered(() => page.selectOption('#f-status', 'error'), (e) => e.status_code >= 300, 'status');
  await filtered(async () => { await page.fill('#range-from', '2025-11-10'); await page.fill('#range-to', '2025-11-10'); },
    (e) => e.started_at >= day('2025-11-10') && e.started_at < day('2025-11-11'), 'one day');
  // A filter that matches nothing says so, and offers to clear.
  await go(page, `#/runs?${RANGE}&customer=nobody`, '[data-state=empty]');
  assert.match(await text(page, '[data-state=empty]'), /No calls match these filters/);
  await assertNoLeak(page, 'runs');
  await context.close();
});

test("run detail: the section tree expands, each node's numbers as the API and the seed say", async () => {
  const { page, context } = await signedIn(keys.acme);
  await go(page, `#/runs?${RANGE}&section=agent:writer`, 'a[href="#/run/run-tree-1"]');
  await page.click('a[href="#/run/run-tree-1"]');
  await page.waitForSelector('table.tree');
  const api = await apiJson('/runs/run-tree-1', keys.acme);
  const run = acme.filter((e) => e.run_id === 'run-tree-1');
  assert.equal(await page.locator('[data-metric=cost] .money').getAttribute('data-usd'), usd(sumNano(run)));
  assert.equal(api.totals.cost_usd, usd(sumNano(run)));
  assert.equal(await text(page, '[data-metric=calls] .metric-value'), String(run.length));
  assert.equal(await text(page, '[data-metric=retries] .metric-value'), '1');
  assert.equal(await text(page, '[data-metric=cancelled] .metric-value'), '1');
  // The root is open: its children show, their children do not yet.
  assert.ok(await page.isVisible('tr.node[data-path="agent:research"]'));
  assert.equal(await page.locator('tr.node[data-path="agent:research/step:analyze"]').count(), 0);
  // Open agent:research with the keyboard.
  const toggle = page.locator('button.toggle[data-path="agent:research"]');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('tr.node[data-path="agent:research/step:analyze"]');
  assert.equal(await page.locator('button.toggle[data-path="agent:research"]').getAttribute('aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.path), 'agent:research', 'focus stays on the toggle');
  await page.click('button.toggle[data-path="agent:research/step:analyze"]');
  await page.getByRole('button', { name: 'Expand all' }).click();
  // Every node of the API's tree is on screen with its cost and retries.
  const nodes = [];
  const walk = (n) => { nodes.push(n); n.children.forEach(walk); };
  walk(api.tree);
  for (const n of nodes) {
    const row = page.locator(`tr.node[data-path="${n.path}"]`);
    assert.equal(await row.count(), 1, `node ${n.path}`);
    assert.equal(await row.locator('.money').first().getAttribute('data-usd'), n.totals.cost_usd, n.path);
    const under = run.filter((e) => n.path === '' || (e.section_path ?? '') === n.path || (e.section_path ?? '').startsWith(`${n.path}/`));
    assert.equal(n.totals.cost_usd, usd(sumNano(under)), `seed sum under ${n.path}`);
    assert.equal(await row.locator('td[data-retries]').getAttribute('data-retries'), String(under.filter((e) => (e.attempt ?? 0) > 1).length));
  }
  const analyze = page.locator('tr.node[data-path="agent:research/step:analyze"]');
  assert.match(await analyze.innerText(), /\$0\.0015 wasted/);
  assert.equal(await page.locator('tr.node.superseded').count(), 1);
  assert.equal(await page.locator('tr.node[data-path="agent:writer"] td').last().innerText(), '1', 'one cancelled stream under agent:writer');
  assert.equal(await page.locator('tr.call').count(), run.length, 'every call under its node');
  await shot(page, 'run-detail');
  // Collapse again.
  await page.click('button.toggle[data-path="agent:research"]');
  assert.equal(await page.locator('tr.node[data-path="agent:research/tool:search"]').count(), 0);
  await assertNoLeak(page, 'run detail');
  await context.close();
});

test('customers: one row per customer with the API\'s and the seed\'s numbers', async () => {
  const { page, context } = await signedIn(keys.acme);
  await go(page, `#/customers?${RANGE}`, 'tr[data-customer]');
  const api = await apiJson(`/tenants/acme-corp/customers?from=${FROM}&to=2025-11-15`, keys.acme);
  assert.deepEqual(await page.locator('tr[data-customer]').evaluateAll((rs) => rs.map((r) => r.dataset.customer)), api.data.map((c) => c.customer_id ?? ''));
  for (const c of api.data) {
    const row = page.locator(`tr[data-customer="${c.customer_id}"]`);
    assert.equal(await row.locator('.money').getAttribute('data-usd'), c.cost_usd);
    assert.equal(c.cost_usd, usd(sumNano(cur.filter((e) => e.customer_id === c.customer_id))));
    assert.equal(await row.locator('td').nth(2).innerText(), String(cur.filter((e) => e.customer_id === c.customer_id).length));
    assert.equal(await row.locator('td').nth(8).innerText(), `${c.p95_latency_ms} ms`);
  }
  await shot(page, 'customers');
  // A customer links to its calls.
  await page.click('a:text-is("bob")');
  await page.waitForSelector('tr[data-event]');
  assert.equal(await page.inputValue('#f-customer'), 'bob');
  await assertNoLeak(page, 'customers');
  await context.close();
});

test('insights: one card per stored insight, with its sentence and numbers, unknown types included', async () => {
  const { page, context } = await signedIn(keys.acme);
  await go(page, `#/insights?${RANGE}`, '[data-insight]');
  const api = await apiJson(`/insights/daily?from=${FROM}&to=2025-11-15`, keys.acme);
  assert.deepEqual(await page.locator('[data-insight]').evaluateAll((cs) => cs.map((c) => c.dataset.insight)), api.data.map((i) => i.id));
  assert.deepEqual(api.data.map((i) => i.id), ['in-top', 'in-spike', 'in-new'], 'newest day first');
  const spike = page.locator('[data-insight=in-spike]');
  assert.equal(await spike.getAttribute('data-severity'), 'critical');
  assert.match(await spike.innerText(), /Spend spike/);
  assert.match(await spike.innerText(), /3\.2 times the trailing 7-day average/);
  assert.equal(await spike.locator('dd[data-field=spend_usd]').innerText(), '$12.50');
  assert.equal(await spike.locator('dd[data-field=baseline_usd]').innerText(), '$3.91');
  assert.equal(await spike.locator('dd[data-field=ratio]').innerText(), '320.0%');
  const top = page.locator('[data-insight=in-top]');
  const rows = await top.locator('dd[data-field=customers] tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.innerText).sort().join(' ')));
  assert.deepEqual(rows, ['$1.25 alice', '$0.50 bob']);
  const novel = page.locator('[data-insight=in-new]');
  assert.match(await novel.innerText(), /Brand new kind/);
  assert.match(await novel.innerText(), /customer bob/);
  assert.equal(await novel.locator('dd[data-field=widgets]').innerText(), '4,200');
  assert.equal(await novel.locator('dd[data-field=share_pct]').innerText(), '12.5%');
  await shot(page, 'insights');
  // Filtered by severity.
  await page.selectOption('#f-severity', 'critical');
  await page.click('form[aria-label="Date range"] button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('[data-insight]').length === 1);
  assert.equal(await page.locator('[data-insight]').getAttribute('data-insight'), 'in-spike');
  await assertNoLeak(page, 'insights');
  await context.close();
});

test('pricing: the effective price list, and the unpriced models of this tenant highlighted', async () => {
  const { page, context } = await signedIn(keys.acme);
  await go(page, `#/pricing?${RANGE}`, 'tr[data-model]');
  const api = await apiJson('/pricing', keys.acme);
  assert.equal(await page.locator('tr[data-model]').count(), api.data.length);
  const gpt4o = api.data.filter((e) => e.model === 'gpt-4o' && e.provider === 'openai').sort((a, b) => (a.effective_from < b.effective_from ? 1 : -1))[0];
  const row = page.locator(`tr[data-model="gpt-4o"][data-provider=openai][data-from="${gpt4o.effective_from}"]`);
  assert.match(await row.innerText(), /in force/);
  assert.match(await row.innerText(), new RegExp(gpt4o.standard.input.replace('.', '\\.')));
  const unpriced = page.locator('[data-state=unpriced]');
  assert.match(await unpriced.innerText(), /mystery-model-x — 3 calls/);
  assert.equal(await unpriced.locator('li').count(), 1);
  await page.fill('#f-search', 'gpt-4o-mini');
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-model]')].every((r) => r.dataset.model.includes('gpt-4o-mini')));
  assert.ok(await page.locator('tr[data-model]').count() >= 1);
  await shot(page, 'pricing');
  await assertNoLeak(page, 'pricing');
  await context.close();
});

test('a tenant-bound key sees only its tenant: no tenant picker, the other tenant nowhere, its run a 404', async () => {
  const { page, context } = await signedIn(keys.acme);
  await go(page, `#/overview?${RANGE}`, '[data-metric=spend]');
  assert.equal(await page.locator('#tenant-switch').count(), 0, 'no tenant picker for a bound key');
  assert.equal(await page.locator('header.top .who').getAttribute('data-tenant'), 'acme-corp');
  await go(page, '#/run/globex-run', '[data-state=error]');
  assert.match(await text(page, '[data-state=error]'), /Nothing found/);
  await assertNoLeak(page, 'a run of the other tenant');
  await context.close();
  // A customer-bound key sees its customer only.
  const alice = await signedIn(keys.alice);
  await go(alice.page, `#/overview?${RANGE}`, '[data-metric=spend]');
  assert.match(await text(alice.page, 'header.top .who'), /Customer alice of acme-corp/);
  assert.equal(await alice.page.locator('[data-metric=spend] .money').getAttribute('data-usd'), usd(sumNano(cur.filter((e) => e.customer_id === 'alice'))));
  await go(alice.page, `#/customers?${RANGE}`, 'tr[data-customer]');
  assert.deepEqual(await alice.page.locator('tr[data-customer]').evaluateAll((rs) => rs.map((r) => r.dataset.customer)), ['alice']);
  await go(alice.page, `#/runs?${RANGE}`, 'tr[data-event]');
  assert.equal(await alice.page.locator('#f-customer').count(), 0, 'no customer filter for a customer-bound key');
  for (const other of ['bob', 'charlie']) assert.ok(!(await alice.page.content()).includes(other), `${other} on alice's runs page`);
  await alice.context.close();
});

test('an unbound key (the admin token) asks for the tenant and never lists tenants', async () => {
  const { page, context } = await signedIn(stack.adminToken);
  await page.waitForSelector('#tenant');
  await assertNoLeak(page, 'the tenant form');
  assert.ok(!(await page.content()).includes('acme-corp'));
  await page.fill('#tenant', 'acme-corp');
  await page.click('main button[type=submit]');
  await go(page, `#/overview?${RANGE}`, '[data-metric=spend]');
  assert.equal(await page.locator('[data-metric=spend] .money').getAttribute('data-usd'), usd(sumNano(cur)));
  // Every page works with the tenant it was given.
  for (const [hash, ready] of [[`#/runs?${RANGE}`, 'tr[data-event]'], ['#/run/run-tree-1', 'table.tree'], [`#/customers?${RANGE}`, 'tr[data-customer]'],
    [`#/insights?${RANGE}`, '[data-insight]'], [`#/pricing?${RANGE}`, 'tr[data-model]']]) await go(page, hash, ready);
  // The tenant is switched in the header.
  await page.fill('#tenant-switch', OTHER);
  await page.click('form.tenant-switch button[type=submit]');
  await go(page, `#/overview?${RANGE}`, '[data-metric=unpriced]');
  await page.waitForFunction(() => document.querySelector('[data-metric=calls] .metric-value')?.textContent === '5');
  assert.equal(await text(page, '[data-metric=unpriced] .metric-value'), '5');
  await context.close();
});

test('empty states say there is no data yet and what to do', async () => {
  const { page, context } = await signedIn(keys.empty);
  await go(page, `#/overview?${RANGE}`, '[data-state=empty]');
  assert.match(await text(page, '[data-state=empty]'), /No calls recorded for empty-co.*Send a call through the gateway/s);
  await shot(page, 'overview-empty');
  await go(page, `#/runs?${RANGE}`, '[data-state=empty]');
  await go(page, `#/customers?${RANGE}`, '[data-state=empty]');
  await go(page, `#/insights?${RANGE}`, '[data-state=empty]');
  assert.match(await text(page, '[data-state=empty]'), /No insights/);
  await context.close();
});

/** Text whose contrast with its background is below WCAG AA (4.5:1), as "tag.class "text" ratio". */
function lowContrast() {
  const parse = (s) => { const p = s.match(/rgba?\(([^)]+)\)/)[1].split(/[ ,/]+/).filter(Boolean).map(Number); return { rgb: p.slice(0, 3), a: p[3] ?? 1 }; };
  const lum = (rgb) => { const [r, g, b] = rgb.map((v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c.a > 0.5) return c.rgb; } return [255, 255, 255]; };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!el.getClientRects().length || el.closest('.visually-hidden, .skip')) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const [hi, lo] = [lum(parse(getComputedStyle(el).color).rgb), lum(background(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}

test('every text on every page has readable contrast (WCAG AA, 4.5:1)', async () => {
  const { page, context } = await signedIn(keys.acme);
  for (const [hash, ready] of [[`#/overview?${RANGE}`, 'table tbody tr'], [`#/runs?${RANGE}`, 'tr[data-event]'], ['#/run/run-tree-1', 'table.tree'],
    [`#/customers?${RANGE}`, 'tr[data-customer]'], [`#/insights?${RANGE}`, '[data-insight]'], [`#/pricing?${RANGE}`, 'tr[data-model]'], ['#/run/nope', '[data-state=error]']]) {
    await go(page, hash, ready);
    if (hash.startsWith('#/run/run')) await page.getByRole('button', { name: 'Expand all' }).click();
    assert.deepEqual(await page.evaluate(lowContrast), [], hash);
  }
  await context.close();
});

test('at phone width (390 px) the pages fit the screen', async () => {
  const { page, context } = await signedIn(keys.acme, { width: 390, height: 844 });
  for (const [name, hash, ready] of [['overview', `#/overview?${RANGE}`, 'table tbody tr'], ['runs', `#/runs?${RANGE}`, 'tr[data-event]'],
    ['run-detail', '#/run/run-tree-1', 'table.tree'], ['insights', `#/insights?${RANGE}`, '[data-insight]']]) {
    await go(page, hash, ready);
    await page.waitForTimeout(100);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${name} is ${width} px wide at 390 px`);
    await shot(page, `phone-${name}`);
  }
  await context.close();
});
