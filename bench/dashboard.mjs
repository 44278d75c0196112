// The dashboard's first meaningful paint with 100,000 events: generates the events into a
// fresh local D1 (bench/gen_events.py, one tenant, one month), starts the worker under
// `wrangler dev`, and opens the overview for that month in Debian's Chromium (a fresh
// browser context each time: no HTTP cache). Prints, per load, the time from navigation
// start to the overview's totals in the DOM (the dashboard's own performance mark), to the
// table by model and the chart drawn, Chromium's first and largest contentful paints, and the API calls; then
// the built assets' sizes, raw and gzipped. Not a test: it prints numbers.
//
//   node bench/dashboard.mjs [events] [loads]
//
// Needs a built worker (scripts/build-worker.sh, which builds the dashboard too) and mock.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadavg, cpus } from 'node:os';
import { promisify } from 'node:util';
import { startStack, ROOT } from '../tests/e2e/harness.mjs';
import { d1Files } from '../tests/e2e/d1.mjs';
import { launchChromium } from '../tests/e2e/browser.mjs';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 100_000);
const LOADS = Number(process.argv[3] ?? 9);
const HASH = '#/overview?from=2025-11-01&to=2025-11-30';

/** In the page: the dashboard's marks, Chromium's paints and the API calls of this load. */
function measure() {
  return new Promise((resolve) => {
    let lcp = null;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) lcp = e.startTime; }).observe({ type: 'largest-contentful-paint', buffered: true });
    requestAnimationFrame(() => setTimeout(() => resolve({
      numbers: performance.getEntriesByName('llmobserve:overview')[0].startTime,
      table: performance.getEntriesByName('llmobserve:table')[0].startTime,
      chart: performance.getEntriesByName('llmobserve:chart')[0].startTime,
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      lcp,
      api: performance.getEntriesByType('resource').filter((r) => /\/(costs|runs)/.test(r.name))
        .map((r) => ({ path: new URL(r.name).pathname + new URL(r.name).search, ms: r.duration, worker: r.serverTiming?.find((t) => t.name === 'llmobserve-total')?.duration ?? null })),
      spend: document.querySelector('[data-metric=spend] .money')?.dataset.usd,
      calls: document.querySelector('[data-metric=calls] .metric-value')?.textContent,
    }), 50));
  });
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };

let generated;
const stack = await startStack({
  checkLeaks: false,
  prepare: async (dir) => {
    const [db] = (await d1Files(dir)).filter((f) => !f.includes('metadata'));
    generated = JSON.parse((await run('python3', [join(ROOT, 'bench/gen_events.py'), db, String(N), 'one'], { maxBuffer: 1 << 20 })).stdout);
  },
});
const browser = await launchChromium();
try {
  const key = (await stack.createKey({ name: 'bench', scopes: ['read'], tenant_id: 'tenant-00' })).key;
  const loads = [];
  for (let i = 0; i < LOADS + 1; i += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript((k) => sessionStorage.setItem('llmobserve.key', k), key);
    const page = await context.newPage();
    const m = {};
    for (const kind of ['first', 'again']) {
      if (kind === 'first') await page.goto(`${stack.url}/${HASH}`);
      else await page.reload();
      await page.waitForFunction(() => performance.getEntriesByName('llmobserve:chart').length > 0, null, { timeout: 60_000 });
      m[kind] = await page.evaluate(measure);
    }
    await context.close();
    if (i > 0) loads.push(m); // the first load warms the worker's isolate
    process.stderr.write(`load ${i}: numbers ${m.first.numbers.toFixed(0)} ms, then ${m.again.numbers.toFixed(0)} ms on reload\n`);
  }
  const dist = join(ROOT, 'dashboard/dist');
  const files = readdirSync(dist).map((f) => { const b = readFileSync(join(dist, f)); return { f, raw: b.length, gz: gzipSync(b, { level: 9 }).length }; });
  const first = files.filter((x) => !x.f.startsWith('chart-'));
  const sum = (xs, k) => xs.reduce((s, x) => s + x[k], 0);
  const col = (kind, k) => loads.map((l) => l[kind][k]).filter((x) => x !== null);
  console.log(`\n### Dashboard: overview of one month with ${N.toLocaleString('en')} events (tenant-00), ${LOADS} loads\n`);
  console.log(`Generated: ${JSON.stringify(generated.largest_tenant_rows_per_month)}; the overview showed spend $${loads[0].first.spend}, ${loads[0].first.calls} calls. Load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${cpus().length} x ${cpus()[0]?.model}.\n`);
  console.log('Each load is a fresh browser context holding the key; "first" is its first page load (the key is checked before the');
  console.log('data is asked for), "reload" the same page reloaded (the key\'s tenant remembered, checked alongside).\n');
  console.log('| from navigation start | first: median ms | p90 | reload: median ms | p90 |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [label, k] of [['first contentful paint', 'fcp'], ['**numbers on screen** (the totals: spend, calls, tokens, errors)', 'numbers'],
    ['largest contentful paint', 'lcp'], ['spend by model (the table)', 'table'], ['chart drawn (Chart.js loads after the numbers)', 'chart']]) {
    const a = col('first', k);
    const b = col('again', k);
    console.log(`| ${label} | ${pct(a, 50).toFixed(0)} | ${pct(a, 90).toFixed(0)} | ${pct(b, 50).toFixed(0)} | ${pct(b, 90).toFixed(0)} |`);
  }
  console.log('\nAPI calls of a first load (median over the loads, from the request to its last byte):');
  const byPath = new Map();
  for (const l of loads) for (const a of l.first.api) byPath.set(a.path, [...(byPath.get(a.path) ?? []), a]);
  for (const [path, xs] of byPath) {
    const worker = xs.map((x) => x.worker).filter((x) => x !== null);
    console.log(`- \`${path}\`: ${pct(xs.map((x) => x.ms), 50).toFixed(0)} ms${worker.length ? ` (the worker's own server-timing: ${pct(worker, 50).toFixed(0)} ms)` : ''}`);
  }
  console.log('\n| asset | bytes | gzipped |');
  console.log('|---|---:|---:|');
  for (const x of files) console.log(`| ${x.f} | ${x.raw.toLocaleString('en')} | ${x.gz.toLocaleString('en')} |`);
  console.log(`| all | ${sum(files, 'raw').toLocaleString('en')} | ${sum(files, 'gz').toLocaleString('en')} |`);
  console.log(`\nBefore the numbers show, the browser loads ${sum(first, 'gz').toLocaleString('en')} bytes gzipped (index.html, app.js, app.css); the chart chunk follows.`);
} finally {
  await browser.close();
  await stack.stop();
}
