// Puts full runs side by side: the ratios and the ratios to the other floors, one
// column per run, each ratio taken within its own run. Prints a Markdown table.
//
//   node bench/compare.mjs bench/results/<run>-full.json bench/results/<run>-full.json ...
import { readFileSync } from 'node:fs';
import { cpuBound, ratio } from './lib/report.mjs';

const runs = process.argv.slice(2).map((path) => JSON.parse(readFileSync(path, 'utf8')));
if (!runs.length) {
  console.error('usage: node bench/compare.mjs <raw result .json>...');
  process.exit(2);
}

const pair = (x, y) => `${x} / ${y}`;
const rows = [];
// The targets as the run computed them (the wall time and the chunk lag are not ratios).
for (const c of runs[0].checks ?? []) {
  if (c.what.startsWith('benchmark wall') || c.what.startsWith('stream: no chunk')) continue;
  rows.push([c.what, (r) => {
    const v = r.checks?.find((x) => x.what === c.what)?.value;
    return Number.isFinite(v) ? `${v.toFixed(2)}x` : '–';
  }, c.limit]);
}
const floor = (id, what, f) => rows.push([what, (r) => (r.rows?.[id] && r.rows.llmobserve ? f(r.rows.llmobserve, r.rows[id], r.rows.js) : '–'), '']);
floor('js-read', 'added p50, c=1 / c=32: llmobserve / JS that reads what it prices',
  (L, R) => pair(ratio(L.added.c1.p50, R.added.c1.p50), ratio(L.added.c32.p50, R.added.c32.p50)));
floor('js-read', 'CPU per request: llmobserve / JS that reads what it prices', (L, R) => ratio(L.cpuMsPerReq, R.cpuMsPerReq));
floor('wasm', 'added p50, c=1 / c=32: llmobserve / Rust/wasm passthrough',
  (L, W) => pair(ratio(L.added.c1.p50, W.added.c1.p50), ratio(L.added.c32.p50, W.added.c32.p50)));
floor('wasm', 'added p50, c=1 / c=32: Rust/wasm passthrough / JS passthrough',
  (L, W, J) => pair(ratio(W.added.c1.p50, J.added.c1.p50), ratio(W.added.c32.p50, J.added.c32.p50)));
rows.push(['added p50 at c=32 per ms of CPU per request: ' + cpuBound(runs[0].rows ?? {}).map(([name]) => name).join(' / '),
  (r) => cpuBound(r.rows ?? {}).map(([, k]) => k.toFixed(1)).join(' / '), '']);
rows.push(['benchmark wall time', (r) => `${r.totalSeconds.toFixed(0)} s`, '< 900 s']);

const head = ['ratio', ...runs.map((r) => `${r.startedAt.slice(0, 16).replace('T', ' ')} (\`${r.versions.llmobserve.slice(0, 7)}\`)`), 'limit'];
console.log(`| ${head.join(' | ')} |`);
console.log(`|---|${runs.map(() => '---:').join('|')}|---:|`);
for (const [what, value, limit] of rows) console.log(`| ${[what, ...runs.map(value), limit].join(' | ')} |`);
