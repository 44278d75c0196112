// Token estimation in wasm, in Node's V8 (the engine workerd embeds): the first count in a
// fresh process (a fresh isolate: module compiled and instantiated, tables untouched) and
// warm throughput, for llmobserve-core's counter and for unmodified tiktoken-rs.
// Run through run.sh, which builds the modules: node run.mjs <pkg dir> <corpus dir> [--quick]
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const FIRST_TEXT = 'The user cancelled the stream after a few words.';
const [, self, pkg, corpusDir, ...rest] = process.argv;

if (pkg === '--first') {
  // Child: one fresh isolate. [--first, <module dir>, <count fn>, <encoding>]
  const [dir, fn, enc] = [corpusDir, rest[0], rest[1]];
  const t0 = performance.now();
  const m = require(join(dir, 'bench.js'));
  const t1 = performance.now();
  m.load(FIRST_TEXT);
  const c2 = process.cpuUsage();
  const t2 = performance.now();
  const n = m[fn](enc);
  const t3 = performance.now();
  const c3 = process.cpuUsage(c2);
  m[fn](enc);
  const t4 = performance.now();
  const firstCpu = (c3.user + c3.system) / 1000;
  console.log(JSON.stringify({ load: t1 - t0, first: t3 - t2, firstCpu, second: t4 - t3, n, memory: m.memory_bytes() }));
  process.exit(0);
}

const quick = rest.includes('--quick');
const runs = quick ? 3 : 11;
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (x, d = 2) => x.toFixed(d).padStart(10);

console.log(`Token estimation in wasm (Node ${process.version}, V8 ${process.versions.v8}), median of ${runs} fresh processes`);
console.log('module sizes (bytes, gzip -9):');
for (const variant of ['ours', 'tiktoken']) {
  const bytes = readFileSync(join(pkg, variant, 'bench_bg.wasm'));
  console.log(`  ${variant.padEnd(9)} ${String(bytes.length).padStart(9)} ${String(gzipSync(bytes, { level: 9 }).length).padStart(9)}`);
}
console.log('load: require() of the bound module (read, compile, instantiate); first: the first count of a');
console.log('short text, wall and process CPU time; second: the same count again; memory: linear memory after it.');
console.log(`${'counter'.padEnd(12)} ${'enc'.padEnd(7)} ${'load ms'.padStart(10)} ${'first ms'.padStart(10)} ${'first CPU'.padStart(10)} ${'second ms'.padStart(10)} ${'memory MB'.padStart(10)}`);
for (const [variant, fn, name] of [['ours', 'count_ours', 'llmobserve'], ['tiktoken', 'count_tiktoken', 'tiktoken-rs']]) {
  for (const enc of ['o200k', 'cl100k']) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, [self, '--first', join(pkg, variant), fn, enc], { encoding: 'utf8' });
      samples.push(JSON.parse(out));
    }
    const col = (k) => median(samples.map((s) => s[k]));
    console.log(`${name.padEnd(12)} ${enc.padEnd(7)} ${fmt(col('load'))} ${fmt(col('first'))} ${fmt(col('firstCpu'))} ${fmt(col('second'), 4)} ${fmt(col('memory') / 1e6, 1)}`);
  }
}

// Warm throughput: both counters in one module, each text loaded into wasm memory once.
const m = require(join(pkg, 'both', 'bench.js'));
const files = readdirSync(corpusDir).sort().map((f) => [f.replace(/\.[^.]*$/, ''), readFileSync(join(corpusDir, f), 'utf8')]);
const all = files.map(([, t]) => t).join('');
const budget = quick ? 200 : 1500;
function throughput(fn, enc, text, ms) {
  m.load(text);
  const bytes = Buffer.byteLength(text);
  m[fn](enc);
  let best = 0;
  // The best 100 ms round of process CPU time: the machines this runs on are shared, and
  // wall time would count the time other processes hold the core.
  const cpuMs = (since) => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1000;
  };
  for (let round = 0; round < Math.max(1, ms / 100); round++) {
    const start = process.cpuUsage();
    let done = 0;
    while (cpuMs(start) < 100) {
      m[fn](enc);
      done += bytes;
    }
    best = Math.max(best, done / (cpuMs(start) / 1000) / 1e6);
  }
  return best;
}
console.log();
console.log(`Warm throughput, MB/s of CPU time, best 100 ms round (corpus: ${files.length} files, ${Buffer.byteLength(all)} bytes)`);
console.log(`${'counter'.padEnd(12)} ${'enc'.padEnd(7)} ${'all'.padStart(9)}${files.map(([n]) => n.padStart(13)).join('')}`);
for (const enc of ['o200k', 'cl100k']) {
  m.load(all);
  if (m.count_ours(enc) !== m.count_tiktoken(enc)) throw new Error(`${enc}: counts differ`);
  for (const [fn, name] of [['count_ours', 'llmobserve'], ['count_tiktoken', 'tiktoken-rs']]) {
    const cells = [throughput(fn, enc, all, budget), ...files.map(([, t]) => throughput(fn, enc, t, budget))];
    console.log(`${name.padEnd(12)} ${enc.padEnd(7)} ${cells[0].toFixed(1).padStart(9)}${cells.slice(1).map((c) => c.toFixed(1).padStart(13)).join('')}`);
  }
}
