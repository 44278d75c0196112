// The daily cron at 1,000,000 events: generates the events straight into a fresh local D1
// (bench/gen_events.py, 50 tenants over 6 months, moved so that they end today), starts
// the worker under `wrangler dev --test-scheduled`, and runs the scheduled handler
// (`/__scheduled`, at the real time) as the hourly trigger would: the first run (backfill
// of every day, ageing out what is past the retention, insights of the last 7 days), a
// rerun with nothing new, and a run after an hour's worth of new events today.
// For each run it prints the wall time and what the worker counted from D1's result
// metadata (statements, rows read, rows written). It also times GET /costs over the
// whole 6 months before and after the rollups exist. Not a test: it prints numbers.
//
//   node bench/cron.mjs [events] [retention days]      (make bench-cron)
//
// Needs a built worker and mock (make test or make build; cargo build -p mock-openai).
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { promisify } from 'node:util';
import { startStack, ROOT } from '../tests/e2e/harness.mjs';
import { d1Files } from '../tests/e2e/d1.mjs';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 1_000_000);
const RETENTION = Number(process.argv[3] ?? 90);
const TENANT = 'tenant-00';
const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
// gen_events.py writes 2025-06-01 .. 2025-11-30; moved by whole days to end yesterday.
const SHIFT = TODAY - Date.parse('2025-12-01T00:00:00Z');
const sqlite = (file, sql) => run('python3', ['-c', 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("PRAGMA synchronous = OFF"); db.execute(sys.argv[2]); db.commit()', file, sql], { maxBuffer: 1 << 20 });

let dbFile;
let generated;
const t0 = Date.now();
const stack = await startStack({
  checkLeaks: false,
  testScheduled: true,
  vars: { EVENT_RETENTION_DAYS: String(RETENTION) },
  prepare: async (dir) => {
    [dbFile] = (await d1Files(dir)).filter((f) => !f.includes('metadata'));
    const { stdout } = await run('python3', [join(ROOT, 'bench/gen_events.py'), dbFile, String(N), 'spread'], { maxBuffer: 1 << 20 });
    generated = JSON.parse(stdout);
    await sqlite(dbFile, `UPDATE events SET started_at = started_at + ${SHIFT}`);
  },
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function costs(key, query, reps = 7) {
  const ms = [];
  let body;
  for (let i = 0; i < reps; i += 1) {
    const t = performance.now();
    const r = await fetch(`${stack.url}/costs?${query}`, { headers: { authorization: `Bearer ${key}` } });
    body = await r.json();
    ms.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`/costs ${r.status}: ${JSON.stringify(body)}`);
  }
  return { ms: median(ms), body };
}

/** GET without a time limit: a first run over 1M events can take minutes (fetch gives up at 300 s). */
function getNoTimeout(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    }).on('error', reject);
  });
}

async function cron() {
  const before = stack.logs().length;
  const t = performance.now();
  const r = await getNoTimeout(`${stack.url}/__scheduled?cron=${encodeURIComponent('7 * * * *')}`);
  const wall = performance.now() - t;
  if (r.status !== 200) throw new Error(`scheduled: ${r.status} ${r.text}\n${stack.logs().slice(-2000)}`);
  let line;
  for (let i = 0; i < 200 && !line; i += 1) {
    line = stack.logs().slice(before).split('\n').find((l) => l.includes('"cron":"rollups_and_insights"'));
    if (!line) await new Promise((res) => setTimeout(res, 50));
  }
  if (!line) throw new Error(`no cron log line:\n${stack.logs().slice(before, before + 2000)}`);
  return { wall_ms: Math.round(wall), ...JSON.parse(line.slice(line.indexOf('{'))) };
}

try {
  const key = (await stack.createKey({ name: 'bench', scopes: ['read'], tenant_id: TENANT })).key;
  // Closed days only: the hour of new events added today below must not change the answer.
  const LONG = `from=${new Date(TODAY - 183 * DAY).toISOString()}&to=${new Date(TODAY).toISOString()}&group_by=day`;
  const beforeCosts = await costs(key, LONG);
  const runs = [];
  const step = async (label) => {
    const stats = await cron();
    runs.push({ label, ...stats });
    process.stderr.write(`${label}: ${stats.wall_ms} ms, ${stats.rows_read} rows read, ${stats.rows_written} written\n`);
  };
  await step(`first run: backfill 6 months, age out past ${RETENTION} days, insights of 7 days`);
  // Each run works off a bounded part of the backlog (AGE_EVENTS_PER_RUN and
  // REROLL_EVENTS_PER_RUN per tenant, the statement budget): the hourly trigger runs again
  // until a run finds nothing left to do.
  const busy = (r) => r.tenants_deferred > 0 || r.days_rerolled > 0 || r.events_deleted > 0;
  while (busy(runs.at(-1)) && runs.length < 40) await step(`run ${runs.length + 1} (the backlog goes on)`);
  await step('rerun, nothing new');
  // An hour of traffic today (1/24 of an average day: ~230 events), written as the gateway would.
  const hourly = Math.round(N / 183 / 24);
  await sqlite(dbFile, `INSERT INTO events (id, tenant_id, customer_id, section_path, run_id, provider, endpoint, method, request_model, is_stream, \
status_code, input_tokens, output_tokens, usage_source, pricing_status, cost_nanousd, started_at, latency_ms) \
SELECT 'hour-' || value, 'tenant-' || printf('%02d', value % 50), 'cust-' || (value % 300), 'agent:coder', 'run-h' || value, 'openai', \
'/v1/chat/completions', 'POST', 'gpt-4o-mini', 0, 200, 500, 100, 'reported', 'priced', 135000, ${TODAY} + value * 1000, 300 \
FROM json_each('[' || (SELECT group_concat(x) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${hourly}) SELECT x FROM c)) || ']')`);
  await step(`next hour: ${hourly} new events today`);
  const afterCosts = await costs(key, LONG);
  const same = JSON.stringify(afterCosts.body.totals) === JSON.stringify(beforeCosts.body.totals);
  const size = (await stat(dbFile)).size;
  const env = { events: N, retention_days: RETENTION, generated, db_bytes_after: size, load_average: loadavg().map((l) => l.toFixed(2)),
    cpus: `${cpus().length} x ${cpus()[0]?.model}`, node: process.version, setup_seconds: Math.round((Date.now() - t0) / 1000) };
  console.log(`\n### Cron over ${N.toLocaleString('en')} events (50 tenants, 2025-06-01 to 2025-11-30), retention ${RETENTION} days\n`);
  console.log('| run | wall ms | tenants (deferred) | days re-rolled | events aged out | insight days / insights | D1 calls / statements | rows read | rows written |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    console.log(`| ${r.label} | ${r.wall_ms.toLocaleString('en')} | ${r.tenants} (${r.tenants_deferred}) | ${r.days_rerolled} | ${r.events_deleted.toLocaleString('en')} | ${r.insight_days} / ${r.insights} | ${r.d1_calls} / ${r.statements} | ${r.rows_read.toLocaleString('en')} | ${r.rows_written.toLocaleString('en')} |`);
  }
  console.log(`\nGET /costs for ${TENANT}, 6 months by day: ${beforeCosts.ms.toFixed(0)} ms from events before the cron, ${afterCosts.ms.toFixed(0)} ms after (${afterCosts.body.rollups?.days ?? 0} days from rollups); totals ${same ? 'identical' : `DIFFERENT (before: ${JSON.stringify(beforeCosts.body.totals)})`}: ${afterCosts.body.totals.cost_usd} USD over ${afterCosts.body.totals.calls} calls.`);
  console.log(`D1 file ${(size / 1e6).toFixed(0)} MB after the runs; load average ${env.load_average.join(' ')}.`);
  await mkdir(join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(ROOT, `bench/results/cron-${Date.now()}.json`), JSON.stringify({ env, runs, costs: { before_ms: beforeCosts.ms, after_ms: afterCosts.ms, same } }, null, 2));
  if (!same) process.exitCode = 1;
} finally {
  await stack.stop();
}
