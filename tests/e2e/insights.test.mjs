// The daily cron under the real runtime: `wrangler dev --test-scheduled` runs the
// worker's scheduled handler (`/__scheduled`, at the real time) over a local D1 seeded
// with events on days relative to today (tests/e2e/d1.mjs). Checked against answers
// computed here, independently:
// - the rollups equal a rollup of the seeded events done in JavaScript, and stay equal
//   when the cron runs again, loses its state, or late events arrive;
// - each insight type appears on the day it should, with its numbers, and not on a plain day;
// - retention deletes exactly the events of days past it, after rolling them up;
// - GET /costs over a long range reads rolled-up days from the rollups and answers what
//   a sum over every event (aged-out ones included) answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack } from './harness.mjs';
import { seedD1, eventRow, dumpD1, d1Files } from './d1.mjs';
import { checkResponse } from './openapi.mjs';

const run = promisify(execFile);
const DAY = 86_400_000;
const T = 'ins-co';
const O = 'other-co';
// The cron runs at the real time: a run that would straddle midnight UTC waits for it.
if (Date.now() % DAY > DAY - 300_000) await new Promise((r) => setTimeout(r, DAY - (Date.now() % DAY) + 1000));
const TODAY = Math.floor(Date.now() / DAY) * DAY;
/** Midnight of the day `k` days before today. */
const ago = (k) => TODAY - k * DAY;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const RETENTION = 30; // days: the events of days before ago(30) are aged out
const M = 1_000_000; // nano-USD
// Yesterday is the day with every insight; the 7 days before it are its baseline.
const D = ago(1);

let n = 0;
const ev = (at, e) => eventRow({ id: `ev-${String(++n).padStart(4, '0')}`, tenant_id: T, started_at: at, ...e });

function seedEvents() {
  const out = [];
  // Baseline: the 7 days before D, $0.10 a day from alice (agent:research) and from bob (agent:support).
  for (let i = 8; i >= 2; i -= 1) {
    const d = ago(i);
    for (let k = 0; k < 10; k += 1) {
      out.push(ev(d + 3_600_000 + k, { customer_id: 'alice', section_path: 'agent:research/step:plan', input_tokens: 1000, output_tokens: 100, cost_nanousd: 10 * M }));
      out.push(ev(d + 7_200_000 + k, { customer_id: 'bob', section_path: 'agent:support', input_tokens: 1000, output_tokens: 100, cost_nanousd: 10 * M }));
    }
  }
  // D: every insight type.
  const d = D;
  for (let k = 0; k < 10; k += 1) {
    out.push(ev(d + 3_600_000 + k, { customer_id: 'alice', section_path: 'agent:research/step:plan', input_tokens: 1000, cached_input_tokens: 400,
      output_tokens: 100, cost_nanousd: 10 * M, ...(k === 0 ? { ratelimit_limit_tokens: 1000, ratelimit_remaining_tokens: 50 } : {}) }));
    out.push(ev(d + 7_200_000 + k, { customer_id: 'bob', section_path: 'agent:support', input_tokens: 1000, output_tokens: 100, cost_nanousd: 80 * M }));
  }
  // An explicit retry: attempt 1 ($0.03) replaced by attempt 2 ($0.01).
  out.push(ev(d + 10_000_000, { customer_id: 'alice', run_id: 'run-r', attempt: 1, section_path: 'agent:research/retry:llm:attempt_1', cost_nanousd: 30 * M, waste: true }));
  out.push(ev(d + 10_000_100, { customer_id: 'alice', run_id: 'run-r', attempt: 2, is_retry: 1, section_path: 'agent:research/retry:llm:attempt_2', cost_nanousd: 10 * M }));
  out.push(ev(d + 11_000_000, { customer_id: 'alice', section_path: 'agent:research', is_stream: 1, outcome: 'stream_cancelled', usage_source: 'estimated', cost_nanousd: 20 * M }));
  for (let k = 0; k < 2; k += 1) {
    out.push(ev(d + 12_000_000 + k, { customer_id: 'bob', section_path: 'agent:support', status_code: 429, usage_source: 'missing', unpriced_reason: 'no_usage',
      error_type: 'rate_limit_exceeded' }));
  }
  for (let k = 0; k < 3; k += 1) {
    out.push(ev(d + 13_000_000 + k, { customer_id: 'alice', section_path: 'agent:research', request_model: 'acme-private-llm', input_tokens: 100, output_tokens: 10 }));
  }
  // Short prompts to gpt-4o: 500 in + 100 out = $0.00225 a call at gpt-4o's prices.
  for (let k = 0; k < 12; k += 1) {
    out.push(ev(d + 14_000_000 + k, { customer_id: 'carol', section_path: 'agent:triage/step:classify', request_model: 'gpt-4o-2024-08-06',
      input_tokens: 500, output_tokens: 100, cost_nanousd: 2_250_000 }));
  }
  // Today, so far (the first milliseconds of it).
  out.push(ev(TODAY + 1, { customer_id: 'alice', section_path: 'agent:research', input_tokens: 10, cost_nanousd: 10 * M }));
  out.push(ev(TODAY + 2, { customer_id: 'alice', section_path: 'agent:research', input_tokens: 10, cost_nanousd: 10 * M }));
  // Within the retention, before the re-check window; and two days past the retention.
  for (let k = 0; k < 3; k += 1) out.push(ev(ago(27) + k, { customer_id: 'alice', cost_nanousd: 5 * M }));
  for (const old of [ago(58), ago(44)]) {
    for (let k = 0; k < 4; k += 1) out.push(ev(old + 1000 * k, { customer_id: 'bob', section_path: 'agent:support/tool:x', cost_nanousd: 7 * M, input_tokens: 5 }));
  }
  // Another tenant on the same day.
  for (let k = 0; k < 5; k += 1) out.push(ev(d + k, { tenant_id: O, customer_id: 'zed', cost_nanousd: M }));
  return out;
}

const SEEDED = seedEvents();
const stripped = (e) => { const { waste, ...row } = e; return row; };
let stack;
let dbFile;

before(async () => {
  stack = await startStack({
    testScheduled: true,
    vars: { EVENT_RETENTION_DAYS: String(RETENTION) },
    prepare: async (dir) => {
      await seedD1(dir, { events: SEEDED.map(stripped) });
      [dbFile] = (await d1Files(dir)).filter((f) => !f.includes('metadata'));
    },
  });
});
after(async () => { await stack?.stop(); });

const cronLines = () => stack.logs().split('\n').filter((l) => l.includes('"cron":"rollups_and_insights"'));

/** Runs the scheduled handler and returns the stats line it logged. */
async function cron() {
  const seen = cronLines().length;
  const r = await stack.scheduled();
  assert.equal(r.status, 200, `scheduled handler: ${r.text}\n${stack.logs().slice(-3000)}`);
  // The runtime's log reaches the harness a moment after the answer.
  const deadline = Date.now() + 10_000;
  while (cronLines().length === seen && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  const line = cronLines()[seen];
  assert.ok(line, `the cron logged no stats line:\n${stack.logs().slice(-3000)}`);
  const stats = JSON.parse(line.slice(line.indexOf('{')));
  assert.equal(stats.tenants_failed, 0, JSON.stringify(stats));
  return stats;
}

async function get(path, auth = stack.adminToken) {
  const r = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${auth}` } });
  const text = await r.text();
  assert.deepEqual(checkResponse('GET', path, r.status, r.headers.get('content-type'), text), [], `GET ${path}`);
  assert.equal(r.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

async function sql(statement) {
  await run('python3', ['-c', 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit()', dbFile, statement]);
}

const tables = async () => {
  const all = await dumpD1(stack.stateDir, { internal: false });
  const sort = (rows, key) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const rk = (r) => [r.tenant_id, String(r.day).padStart(6, '0'), r.customer_id, r.model, r.provider, r.endpoint, r.section].join('|');
  return {
    rollups: sort(all.rollups, rk),
    days: sort(all.rollup_days, (r) => `${r.tenant_id}|${r.day}`),
    insights: sort(all.insights, (r) => r.id),
    events: all.events,
  };
};

// ---- the oracle: a rollup of the events, written independently of the worker's SQL ----

const outcomeOf = (e) => e.outcome ?? 'completed';
const failed = (e) => e.status_code < 200 || e.status_code > 299 || !['completed', 'stream_cancelled'].includes(outcomeOf(e));
const block = (p) => (p && p.includes(':attempt_') ? p.slice(0, p.indexOf(':attempt_')) : null);

/** Cost of e that retry waste counts: an attempt that a later one replaced. */
function wasted(e, all) {
  if (!(e.cost_nanousd > 0)) return 0;
  const implicit = failed(e) && all.some((r) => r.tenant_id === e.tenant_id && r.retry_of === e.id);
  const explicit = e.run_id && e.attempt != null && block(e.section_path) !== null
    && all.some((r) => r.tenant_id === e.tenant_id && r.run_id === e.run_id && r.attempt > e.attempt && block(r.section_path) === block(e.section_path));
  return implicit || explicit ? e.cost_nanousd : 0;
}

function oracleRollups(all) {
  const m = new Map();
  for (const e of all) {
    const row = {
      tenant_id: e.tenant_id, day: Math.floor(e.started_at / DAY), customer_id: e.customer_id ?? '',
      model: e.response_model ?? e.request_model ?? '', provider: e.provider, endpoint: e.endpoint,
      section: e.section_path ? e.section_path.split('/')[0] : '',
    };
    const key = [row.tenant_id, String(row.day).padStart(6, '0'), row.customer_id, row.model, row.provider, row.endpoint, row.section].join('|');
    const r = m.get(key) ?? { ...row, calls: 0, priced_calls: 0, unpriced_calls: 0, error_calls: 0, cost_nanousd: 0, input_tokens: 0,
      cached_input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, latency_ms_sum: 0, retry_calls: 0, retry_waste_nanousd: 0,
      cancelled_calls: 0, cancelled_nanousd: 0, rate_limited_calls: 0, headroom_calls: 0, min_headroom_permille: null };
    const priced = e.cost_nanousd !== null && e.cost_nanousd !== undefined;
    r.calls += 1;
    r.priced_calls += priced ? 1 : 0;
    r.unpriced_calls += !priced && e.unpriced_reason !== 'no_usage' ? 1 : 0;
    r.error_calls += e.status_code >= 200 && e.status_code <= 299 ? 0 : 1;
    r.cost_nanousd += priced ? e.cost_nanousd : 0;
    r.input_tokens += e.input_tokens;
    r.cached_input_tokens += e.cached_input_tokens;
    r.output_tokens += e.output_tokens;
    r.reasoning_tokens += e.reasoning_tokens;
    r.latency_ms_sum += e.latency_ms;
    r.retry_calls += e.is_retry ? 1 : 0;
    r.retry_waste_nanousd += wasted(e, all);
    r.cancelled_calls += outcomeOf(e) === 'stream_cancelled' ? 1 : 0;
    r.cancelled_nanousd += outcomeOf(e) === 'stream_cancelled' && priced ? e.cost_nanousd : 0;
    r.rate_limited_calls += e.status_code === 429 ? 1 : 0;
    if (e.ratelimit_limit_tokens > 0 && e.ratelimit_remaining_tokens != null) {
      r.headroom_calls += 1;
      const p = Math.floor((e.ratelimit_remaining_tokens * 1000) / e.ratelimit_limit_tokens);
      r.min_headroom_permille = r.min_headroom_permille === null ? p : Math.min(r.min_headroom_permille, p);
    }
    m.set(key, r);
  }
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
}

let first;
let everything = [...SEEDED];

test('the first run rolls up every day, ages out the days past the retention and nothing else', async () => {
  const stats = await cron();
  assert.equal(stats.tenants, 2);
  assert.equal(stats.events_deleted, 8, 'the 8 events of the two days past the retention');
  first = await tables();
  assert.deepEqual(first.rollups, oracleRollups(SEEDED));
  const kept = SEEDED.filter((e) => e.started_at >= ago(RETENTION)).map((e) => e.id).sort();
  assert.deepEqual(first.events.map((e) => e.id).sort(), kept, 'exactly the events of the days past the retention are gone');
  const aged = first.days.filter((r) => r.aged_out === 1).map((r) => [r.tenant_id, r.day, r.events, r.cost_nanousd]);
  assert.deepEqual(aged, [[T, ago(58) / DAY, 4, 28 * M], [T, ago(44) / DAY, 4, 28 * M]]);
  // Insights for the closed days of the last 7 that had calls (not today, not older days).
  const insightDays = [...new Set(first.insights.map((i) => i.day))].sort();
  assert.deepEqual(insightDays, [7, 6, 5, 4, 3, 2, 1].map((k) => iso(ago(k))));
});

const byType = (data) => data.map((i) => [i.type, i.severity, i.customer_id, i.payload]);

test('each insight type appears on day D with its numbers', async () => {
  const r = await get(`/insights/daily?date=${iso(D)}&tenant_id=${T}`);
  assert.equal(r.from, iso(D));
  assert.equal(r.to, iso(TODAY));
  const got = Object.fromEntries(r.data.map((i) => [`${i.type}/${i.customer_id ?? i.payload.section ?? i.payload.scope ?? i.payload.model ?? ''}`, i]));
  assert.deepEqual(Object.keys(got).sort(), [
    'cache_savings/', 'cancelled_stream_waste/', 'cheaper_model/agent:triage', 'new_customer/carol', 'new_model/acme-private-llm',
    'new_model/gpt-4o-2024-08-06', 'rate_limit_pressure/', 'retry_waste/', 'spend_spike/agent:support', 'spend_spike/bob',
    'spend_spike/tenant', 'top_customers/', 'top_sections/', 'unpriced_models/',
  ]);
  for (const i of r.data) {
    assert.equal(typeof i.explanation, 'string');
    assert.equal(i.explanation, i.payload.explanation);
    assert.ok(i.explanation.endsWith('.'), i.explanation);
  }
  // The day cost $0.987 against a $0.20 average: 4.9x.
  const spike = got['spend_spike/tenant'];
  assert.equal(spike.severity, 'critical');
  assert.equal(spike.payload.cost_nanousd, 987 * M);
  assert.equal(spike.payload.baseline_nanousd, 200 * M);
  assert.equal(spike.payload.baseline_days, 7);
  assert.equal(spike.explanation, `Spend was $0.987 on ${iso(D)}, 4.9x the 7-day average of $0.20; look at the customers and sections that grew.`);
  assert.equal(got['spend_spike/bob'].severity, 'critical');
  assert.equal(got['spend_spike/bob'].payload.cost_nanousd, 800 * M);
  assert.equal(got['spend_spike/agent:support'].payload.baseline_nanousd, 100 * M);
  // alice (1.6x) and agent:research (1.6x) are no spike; carol and agent:triage have no baseline.
  const top = got['top_customers/'].payload;
  assert.deepEqual(top.by_cost.map((c) => [c.customer_id, c.cost_nanousd, c.share_percent]), [['bob', 800 * M, 81], ['alice', 160 * M, 16], ['carol', 27 * M, 2]]);
  assert.deepEqual(top.by_growth.map((c) => [c.customer_id, c.growth_nanousd]), [['bob', 700 * M], ['alice', 60 * M], ['carol', 27 * M]]);
  assert.deepEqual(got['top_sections/'].payload.by_cost.map((c) => c.section), ['agent:support', 'agent:research', 'agent:triage']);
  assert.equal(got['retry_waste/'].payload.wasted_nanousd, 30 * M);
  assert.equal(got['retry_waste/'].payload.retry_calls, 1);
  assert.equal(got['retry_waste/'].severity, 'info', '3% of the day');
  assert.equal(got['cancelled_stream_waste/'].payload.wasted_nanousd, 20 * M);
  // 2 of 40 calls were 429s (5%), and one response left 50 of 1000 tokens.
  const rl = got['rate_limit_pressure/'];
  assert.equal(rl.severity, 'warning');
  assert.deepEqual([rl.payload.calls, rl.payload.rate_limited_calls, rl.payload.rate_limited_percent, rl.payload.min_headroom_permille], [40, 2, 5, 50]);
  assert.equal(rl.explanation, '2 of 40 calls (5%) were rate-limited (429) and token headroom fell to 5.0% of the limit; raise the rate limit, spread the load or back off before it fails.');
  // 4,000 cached gpt-4o-mini tokens x ($0.15 - $0.075)/1M = $0.0003; 4,000 of 26,300 input tokens.
  assert.equal(got['cache_savings/'].payload.saved_nanousd, 300_000);
  assert.equal(got['cache_savings/'].payload.hit_rate_permille, 152);
  assert.deepEqual(got['unpriced_models/'].payload.models, [{ model: 'acme-private-llm', provider: 'openai', unpriced_calls: 3 }]);
  // 6,000 input and 1,200 output tokens on gpt-4o-mini: $0.0009 + $0.00072.
  const cheaper = got['cheaper_model/agent:triage'].payload;
  assert.deepEqual([cheaper.model, cheaper.cheaper_model, cheaper.calls, cheaper.cost_nanousd, cheaper.cheaper_cost_nanousd, cheaper.saving_nanousd],
    ['gpt-4o-2024-08-06', 'gpt-4o-mini', 12, 27 * M, 1_620_000, 25_380_000]);
  assert.equal(got['new_customer/carol'].customer_id, 'carol');
});

test('a plain day has only its top lists; the first days have no baseline to compare with', async () => {
  const plain = await get(`/insights/daily?date=${iso(ago(2))}&tenant_id=${T}`);
  assert.deepEqual(plain.data.map((i) => i.type).sort(), ['top_customers', 'top_sections']);
  const top = plain.data.find((i) => i.type === 'top_customers').payload;
  assert.deepEqual(top.by_growth, [], 'flat spend grew nowhere');
  assert.equal(top.baseline_days, 6);
  const early = await get(`/insights/daily?date=${iso(ago(7))}&tenant_id=${T}`);
  assert.equal(early.data.find((i) => i.type === 'top_customers').payload.baseline_days, 1);
  assert.equal((await get(`/insights/daily?date=${iso(TODAY)}&tenant_id=${T}`)).data.length, 0, 'today is not over');
  // Another tenant's insights stay its own, and a customer's key sees only its own.
  const other = await get(`/insights/daily?date=${iso(D)}&tenant_id=${O}`);
  assert.ok(other.data.length > 0 && other.data.every((i) => !JSON.stringify(i).includes('alice')));
  const bobKey = (await stack.createKey({ name: 'bob', scopes: ['read'], tenant_id: T, customer_id: 'bob' })).key;
  const bob = await get(`/insights/daily?date=${iso(D)}`, bobKey);
  assert.deepEqual(bob.data.map((i) => [i.type, i.customer_id]), [['spend_spike', 'bob']]);
});

test('running again, or after losing the rollup state, gives the same rollups and insights', async () => {
  const stats = await cron();
  assert.deepEqual([stats.days_rerolled, stats.insight_days, stats.events_deleted], [0, 0, 0], 'nothing changed, so nothing to do');
  const again = await tables();
  assert.deepEqual(again.rollups, first.rollups);
  assert.deepEqual(again.insights, first.insights);
  assert.deepEqual(again.days, first.days, 'nothing was rewritten');
  // Lost state: every rollup of the kept days and their bookkeeping.
  await sql(`DELETE FROM rollups WHERE day >= ${ago(RETENTION) / DAY}`);
  await sql('DELETE FROM rollup_days WHERE aged_out = 0');
  await cron();
  const rebuilt = await tables();
  assert.deepEqual(rebuilt.rollups, first.rollups);
  assert.deepEqual(rebuilt.insights, first.insights, 'same ids, same payloads, same created_at');
});

async function report(events) {
  const key = (await stack.createKey({ name: 'late', scopes: ['ingest'], tenant_id: T })).key;
  const r = await fetch(`${stack.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }) });
  const body = await r.json();
  assert.equal(body.accepted, events.length, JSON.stringify(body));
  return body;
}

test('late events are rolled up by the next run, also on a day whose events were aged out; today stays current', async () => {
  // gpt-4o-mini, 1,000 in + 100 out: $0.00015 + $0.00006.
  const at = (ms) => new Date(ms).toISOString();
  const call = (id, started, customer, section) => ({ id, provider: 'openai', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions',
    started_at: started, customer_id: customer, section, latency_ms: 100, usage: { input_tokens: 1000, output_tokens: 100 } });
  const late = [
    call('late-1', at(D + 20 * 3_600_000), 'alice', 'agent:research'),
    call('late-2', at(ago(44) + 20 * 3_600_000), 'bob', 'agent:support/tool:x'),
    call('today-1', at(TODAY + 3), 'alice', 'agent:research'),
  ];
  const body = await report(late);
  assert.deepEqual(body.events.map((e) => e.cost_usd), ['0.00021', '0.00021', '0.00021']);
  const rows = late.map((l, k) => eventRow({ id: body.events[k].event_id, tenant_id: T, customer_id: l.customer_id, section_path: l.section,
    request_model: 'gpt-4o-mini', started_at: Date.parse(l.started_at), input_tokens: 1000, output_tokens: 100, cost_nanousd: 210_000 }));
  everything = [...SEEDED, ...rows];
  // Before the cron runs, GET /costs no longer trusts D's rollup: it reads events.
  const dayD = `from=${iso(D)}&to=${iso(TODAY)}`;
  const before = await get(`/costs?tenant_id=${T}&${dayD}`);
  assert.equal(before.rollups, null);
  assert.equal(before.totals.cost_nanousd, 987 * M + 210_000);
  const stats = await cron();
  assert.equal(stats.events_deleted, 1, 'the late event of the aged-out day');
  const afterD = await get(`/costs?tenant_id=${T}&${dayD}`);
  assert.deepEqual([afterD.rollups?.days, afterD.totals.cost_nanousd], [1, 987 * M + 210_000]);
  const t = await tables();
  assert.deepEqual(t.rollups, oracleRollups(everything));
  assert.ok(!t.events.some((e) => e.id === body.events[1].event_id), 'the late event of an aged-out day is rolled up, then deleted');
  assert.ok(t.events.some((e) => e.id === body.events[0].event_id));
  assert.deepEqual(t.days.find((r) => r.day === ago(44) / DAY && r.tenant_id === T).events, 5);
  assert.equal(t.rollups.filter((r) => r.day === TODAY / DAY && r.tenant_id === T).reduce((a, r) => a + r.calls, 0), 3, "today's rollup is current");
  assert.equal((await get(`/insights/daily?date=${iso(TODAY)}&tenant_id=${T}`)).data.length, 0, 'still no insights for today');
  // D changed, so its insights were recomputed.
  const top = (await get(`/insights/daily?date=${iso(D)}&tenant_id=${T}&type=top_customers`)).data[0].payload;
  assert.equal(top.by_cost.find((c) => c.customer_id === 'alice').cost_nanousd, 160 * M + 210_000);
  // A run twice in a row adds nothing twice.
  await cron();
  assert.deepEqual((await tables()).rollups, oracleRollups(everything));
});

// ---- /costs over rollups: the same answer as a sum over every event ----

function oracleCosts(all, dims, { from = -Infinity, to = Infinity, customer } = {}) {
  const field = { day: 'day', customer: 'customer_id', model: 'model', section: 'section', provider: 'provider', endpoint: 'endpoint' };
  const m = new Map();
  for (const e of all) {
    if (e.tenant_id !== T || e.started_at < from || e.started_at >= to || (customer && e.customer_id !== customer)) continue;
    const keys = {
      day: new Date(Math.floor(e.started_at / DAY) * DAY).toISOString().slice(0, 10), customer: e.customer_id ?? null,
      model: e.response_model ?? e.request_model ?? null, section: e.section_path ? e.section_path.split('/')[0] : null,
      provider: e.provider, endpoint: e.endpoint,
    };
    const k = JSON.stringify(dims.map((d) => keys[d]));
    const r = m.get(k) ?? { ...Object.fromEntries(dims.map((d) => [field[d], keys[d]])), calls: 0, priced_calls: 0, error_calls: 0, cost_nanousd: 0, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0 };
    r.calls += 1;
    r.priced_calls += e.cost_nanousd == null ? 0 : 1;
    r.error_calls += e.status_code >= 200 && e.status_code <= 299 ? 0 : 1;
    r.cost_nanousd += e.cost_nanousd ?? 0;
    r.input_tokens += e.input_tokens;
    r.cached_input_tokens += e.cached_input_tokens;
    r.output_tokens += e.output_tokens;
    m.set(k, r);
  }
  return [...m.values()].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

const pick = (rows, dims) => rows.map((r) => {
  const field = { day: 'day', customer: 'customer_id', model: 'model', section: 'section', provider: 'provider', endpoint: 'endpoint' };
  return { ...Object.fromEntries(dims.map((d) => [field[d], r[field[d]]])), calls: r.calls, priced_calls: r.priced_calls, error_calls: r.error_calls,
    cost_nanousd: r.cost_nanousd, input_tokens: r.input_tokens, cached_input_tokens: r.cached_input_tokens, output_tokens: r.output_tokens };
}).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

test('GET /costs over a long range reads rolled-up days from the rollups and equals the sum over every event', async () => {
  const from = ago(60) + 12 * 3_600_000;
  const to = TODAY + 3_600_000;
  const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
  for (const [dims, extra] of [[['day', 'customer'], ''], [['model', 'section'], '&section_depth=1'], [['provider', 'endpoint'], ''], [[], '']]) {
    const q = `/costs?tenant_id=${T}&${range}${dims.length ? `&group_by=${dims.join(',')}` : ''}${extra}`;
    const r = await get(q);
    assert.ok(r.rollups && r.rollups.days >= 10, `${q}: ${JSON.stringify(r.rollups)}`);
    const want = oracleCosts(everything, dims, { from, to });
    if (dims.length) assert.deepEqual(pick(r.data, dims), want, q);
    const total = want.reduce((a, w) => a + w.cost_nanousd, 0);
    assert.equal(r.totals.cost_nanousd, total, q);
  }
  // A customer-bound key: its own customer, from the rollups too.
  const bobKey = (await stack.createKey({ name: 'bob-costs', scopes: ['read'], tenant_id: T, customer_id: 'bob' })).key;
  const bob = await get(`/costs?${range}&group_by=day`, bobKey);
  assert.ok(bob.rollups);
  assert.deepEqual(pick(bob.data, ['day']), oracleCosts(everything, ['day'], { from, to, customer: 'bob' }));
  // What the rollups do not keep (the exact model filter) is read from events: the kept days only.
  const mini = await get(`/costs?tenant_id=${T}&${range}&model=gpt-4o-mini&group_by=day`);
  assert.equal(mini.rollups, null);
  const keptMini = everything.filter((e) => e.started_at >= ago(RETENTION) && (e.request_model ?? 'gpt-4o-mini') === 'gpt-4o-mini');
  assert.deepEqual(pick(mini.data, ['day']), oracleCosts(keptMini, ['day'], { from, to }));
});

test('a day without calls after days with calls is a drop to zero, with its insight; a rerun changes nothing', async () => {
  const Q = 'quiet-co';
  const key = (await stack.createKey({ name: 'quiet', scopes: ['ingest'], tenant_id: Q })).key;
  // Calls on the five days ago(7)..ago(3), none on ago(2) and ago(1).
  const events = [];
  for (let k = 7; k >= 3; k -= 1) {
    for (let j = 0; j < 4; j += 1) {
      events.push({ id: `quiet-${k}-${j}`, provider: 'openai', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions',
        started_at: new Date(ago(k) + 3_600_000 + j).toISOString(), customer_id: 'alice', latency_ms: 100,
        usage: { input_tokens: 200_000, output_tokens: 10_000 } }); // $0.036 a call, $0.144 a day
    }
  }
  const r = await fetch(`${stack.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }) });
  assert.equal((await r.json()).accepted, events.length);
  await cron();
  const days = (await tables()).days.filter((d) => d.tenant_id === Q).map((d) => [d.day, d.events]);
  assert.deepEqual(days, [7, 6, 5, 4, 3, 2, 1].map((k) => [ago(k) / DAY, k >= 3 ? 4 : 0]), 'the two quiet days are recorded with 0 calls');
  for (const k of [2, 1]) {
    const got = await get(`/insights/daily?date=${iso(ago(k))}&tenant_id=${Q}`);
    const drop = got.data.find((i) => i.type === 'spend_drop' && i.payload.scope === 'tenant');
    assert.ok(drop, JSON.stringify(got.data));
    assert.deepEqual([drop.payload.cost_nanousd, drop.payload.baseline_nanousd, drop.payload.change_percent], [0, 144 * M, -100]);
    assert.match(drop.explanation, /^Spend fell to \$0(\.0+)? on /);
  }
  // No calls before ago(7): no quiet day there; and a rerun has nothing to do.
  const stats = await cron();
  assert.deepEqual([stats.days_rerolled, stats.insight_days], [0, 0]);
});
