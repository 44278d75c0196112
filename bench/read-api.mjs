// The read API at 1,000,000 events: generates the events straight into a fresh local D1
// (bench/gen_events.py), starts the worker on it under `wrangler dev`, and times the read
// endpoints over HTTP for one tenant and one month. Prints a Markdown table (median, p95)
// and writes the raw figures to bench/results/. Not a test: it prints numbers.
//
//   node bench/read-api.mjs [spread|one] [events] [requests per case]
//
// Needs a built worker and mock (make test or make build; cargo build -p mock-openai).
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { promisify } from 'node:util';
import { startStack, ROOT } from '../tests/e2e/harness.mjs';
import { d1Files } from '../tests/e2e/d1.mjs';

const run = promisify(execFile);
const scenario = process.argv[2] ?? 'spread';
const N = Number(process.argv[3] ?? 1_000_000);
const REPS = Number(process.argv[4] ?? 40);
const TENANT = 'tenant-00';
const MONTH = 'from=2025-11-01&to=2025-12-01';

let dbFile;
let generated;
const t0 = Date.now();
const stack = await startStack({
  checkLeaks: false,
  prepare: async (dir) => {
    [dbFile] = (await d1Files(dir)).filter((f) => !f.includes('metadata'));
    const { stdout } = await run('python3', [join(ROOT, 'bench/gen_events.py'), dbFile, String(N), scenario], { maxBuffer: 1 << 20 });
    generated = JSON.parse(stdout);
  },
});

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const fmt = (x) => (x < 10 ? x.toFixed(1) : x.toFixed(0));

/** The SQL that the worker runs for a case, timed bare in SQLite (Python's sqlite3), with its plan. */
function bareSql(kind, query, runId) {
  const args = ['run', '-q', '-p', 'llmobserve-core', '--example', 'read_sql', '--', kind, TENANT, query ?? ''];
  if (runId) args.push(runId);
  const stmt = JSON.parse(execFileSync('cargo', args, { cwd: ROOT }).toString());
  const py = `
import json, sqlite3, sys, time
s = json.loads(sys.argv[2]); db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + s["sql"], s["binds"])]
ts = []
for _ in range(7):
    t = time.perf_counter(); rows = db.execute(s["sql"], s["binds"]).fetchall(); ts.append((time.perf_counter() - t) * 1000)
ts.sort(); print(json.dumps({"median_ms": ts[3], "rows": len(rows), "plan": plan}))`;
  return JSON.parse(execFileSync('python3', ['-c', py, dbFile, JSON.stringify(stmt)]).toString());
}

async function time(path, auth) {
  const t = performance.now();
  const r = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${auth}` } });
  const body = await r.arrayBuffer();
  const ms = performance.now() - t;
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${Buffer.from(body).toString()}`);
  const worker = Number(r.headers.get('server-timing')?.match(/llmobserve-total;dur=(\d+)/)?.[1] ?? NaN);
  return { ms, worker, bytes: body.byteLength, body };
}

try {
  const key = (await stack.createKey({ name: 'bench', scopes: ['read'], tenant_id: TENANT })).key;
  const latest = await time(`/runs/latest?${MONTH}&limit=50`, key);
  const runId = JSON.parse(Buffer.from(latest.body).toString()).data[0].run_id;
  // A cursor 20 pages deep.
  let cursor;
  for (let i = 0; i < 20; i += 1) {
    const page = JSON.parse(Buffer.from((await time(`/runs/latest?${MONTH}&limit=50${cursor ? `&cursor=${cursor}` : ''}`, key)).body).toString());
    cursor = page.next_cursor;
  }
  const cases = [
    ['GET /runs/latest (month, 50 rows)', `/runs/latest?${MONTH}`, 'latest', MONTH],
    ['GET /runs/latest, page 21 (keyset cursor)', `/runs/latest?${MONTH}&cursor=${cursor}`, 'latest', `${MONTH}&cursor=${cursor}`],
    ['GET /runs/latest ?customer_id', `/runs/latest?${MONTH}&customer_id=cust-007`, 'latest', `${MONTH}&customer_id=cust-007`],
    ['GET /runs/latest ?model', `/runs/latest?${MONTH}&model=gpt-4o`, 'latest', `${MONTH}&model=gpt-4o`],
    ['GET /runs/latest ?section_prefix', `/runs/latest?${MONTH}&section_prefix=agent:coder`, 'latest', `${MONTH}&section_prefix=agent:coder`],
    ['GET /runs/latest ?status=error', `/runs/latest?${MONTH}&status=error`, 'latest', `${MONTH}&status=error`],
    ['GET /costs (month totals)', `/costs?${MONTH}`, 'costs', MONTH],
    ['GET /costs ?group_by=day', `/costs?${MONTH}&group_by=day`, 'costs', `${MONTH}&group_by=day`],
    ['GET /costs ?group_by=model', `/costs?${MONTH}&group_by=model`, 'costs', `${MONTH}&group_by=model`],
    ['GET /costs ?group_by=customer', `/costs?${MONTH}&group_by=customer`, 'costs', `${MONTH}&group_by=customer`],
    ['GET /costs ?group_by=day,model,section (depth 1)', `/costs?${MONTH}&group_by=day,model,section&section_depth=1`, 'costs', `${MONTH}&group_by=day,model,section&section_depth=1`],
    ['GET /tenants/{t}/customers (month, p95)', `/tenants/${TENANT}/customers?${MONTH}`, 'customers', MONTH],
    ['GET /runs/{run_id}', `/runs/${runId}`, 'run', '', runId],
  ];
  const results = [];
  for (const [label, path, kind, q, rid] of cases) {
    const samples = [];
    try {
      for (let i = 0; i < 3; i += 1) await time(path, key); // warm
      for (let i = 0; i < REPS; i += 1) samples.push(await time(path, key));
    } catch (e) {
      const log = stack.logs().split('\n').filter((l) => l.trim()).slice(-6).join(' | ');
      results.push({ label, path, failed: `${e.message}${e.cause ? ` (${e.cause.message})` : ''}; runtime log: ${log}` });
      process.stderr.write(`${label}: FAILED ${e.message}\n`);
      continue;
    }
    const ms = samples.map((s) => s.ms);
    const worker = samples.map((s) => s.worker);
    const sql = bareSql(kind, q, rid);
    results.push({ label, path, median_ms: pct(ms, 50), p95_ms: pct(ms, 95), worker_median_ms: pct(worker, 50), sql_median_ms: sql.median_ms,
      sql_rows: sql.rows, plan: sql.plan, bytes: samples[0].bytes });
    process.stderr.write(`${label}: ${fmt(pct(ms, 50))} ms\n`);
  }
  // An export of one day, streamed.
  const day = await time(`/events?from=2025-11-15&to=2025-11-16`, key);
  const lines = Buffer.from(day.body).toString().split('\n').filter(Boolean).length;
  const size = (await stat(dbFile)).size;
  const env = {
    scenario, events: N, generated, reps: REPS, db_bytes: size, load_average: loadavg().map((l) => l.toFixed(2)),
    cpus: `${cpus().length} x ${cpus()[0]?.model}`, node: process.version, setup_seconds: Math.round((Date.now() - t0) / 1000),
    export_one_day: { rows: lines, bytes: day.bytes, ms: Math.round(day.ms) },
  };
  console.log(`\n### ${scenario}: ${N.toLocaleString('en')} events, tenant ${TENANT}, ${MONTH}\n`);
  console.log(`Rows of ${TENANT} per month: ${JSON.stringify(generated.largest_tenant_rows_per_month)}; D1 file ${(size / 1e6).toFixed(0)} MB; load average ${env.load_average.join(' ')}.\n`);
  console.log('| request | median ms | p95 ms | worker ms (median) | bare SQLite ms | rows read back |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    if (r.failed) console.log(`| ${r.label} | failed | | | | |`);
    else console.log(`| ${r.label} | ${fmt(r.median_ms)} | ${fmt(r.p95_ms)} | ${fmt(r.worker_median_ms)} | ${fmt(r.sql_median_ms)} | ${r.sql_rows} |`);
  }
  for (const r of results.filter((x) => x.failed)) console.log(`\n${r.label} failed: ${r.failed}`);
  console.log(`\nExport of one day (NDJSON, streamed): ${lines} rows, ${(day.bytes / 1e6).toFixed(1)} MB in ${Math.round(day.ms)} ms.\n`);
  console.log('Query plans:');
  for (const r of results.filter((x) => !x.failed)) console.log(`- ${r.label}: ${r.plan.join('; ')}`);
  await mkdir(join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(ROOT, `bench/results/read-api-${scenario}-${Date.now()}.json`), JSON.stringify({ env, results }, null, 2));
} finally {
  await stack.stop();
}
