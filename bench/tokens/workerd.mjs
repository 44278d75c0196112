// Token estimation in workerd, the Workers runtime itself: for each counter and encoding, a
// fresh workerd process (a fresh isolate) serves a worker that counts a short text per
// request. Reports the first request's count time (performance.now() inside the worker;
// workerd advances it by the millisecond) and the client-side latency of the first and the
// second request, whose difference is the first-use cost.
// Run through run.sh: node workerd.mjs <pkg dir> <workerd binary> [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';

const [, , pkg, workerd, ...rest] = process.argv;
const runs = rest.includes('--quick') ? 3 : 11;
const FIRST_TEXT = 'The user cancelled the stream after a few words.';

const WORKER = `
import { initSync, load, memory_bytes } from './bench.js';
import * as bench from './bench.js';
import wasm from './bench_bg.wasm';
initSync({ module: wasm });
export default {
  async fetch(request) {
    const url = new URL(request.url);
    load(${JSON.stringify(FIRST_TEXT)});
    const start = performance.now();
    const n = bench[url.searchParams.get('fn')](url.searchParams.get('enc'));
    const ms = performance.now() - start;
    return Response.json({ n, ms, memory: memory_bytes() });
  },
};
`;

function config(dir) {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .bench) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const bench :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "bench.js", esModule = embed "bench.js"),
    (name = "bench_bg.wasm", wasm = embed "bench_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
`;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function timedGet(url) {
  const start = process.hrtime.bigint();
  const res = await fetch(url);
  const body = await res.json();
  return { ...body, latency: Number(process.hrtime.bigint() - start) / 1e6 };
}

async function once(dir, fn, enc) {
  const port = await freePort();
  const child = spawn(workerd, ['serve', join(dir, 'config.capnp'), '--socket-addr', `http=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const url = `http://127.0.0.1:${port}/?fn=${fn}&enc=${enc}`;
    for (let i = 0; ; i++) {
      // Wait for the socket without sending a request (that would be the first one).
      const up = await new Promise((resolve) => {
        const c = createConnection(port, '127.0.0.1', () => {
          c.destroy();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      });
      if (up) break;
      if (i > 500) throw new Error('workerd did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    const first = await timedGet(url);
    const second = await timedGet(url);
    return { first, second };
  } finally {
    child.kill();
  }
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const version = await new Promise((resolve) => {
  const p = spawn(workerd, ['--version']);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.on('close', () => resolve(out.trim()));
});
console.log(`Token estimation in ${version}, median of ${runs} fresh workerd processes`);
console.log('in-worker: performance.now() around the first count (1 ms resolution in workerd);');
console.log('request 1 / request 2: client-side latency of the first and second request to a fresh process.');
console.log(`${'counter'.padEnd(12)} ${'enc'.padEnd(7)} ${'in-worker ms'.padStart(13)} ${'request 1 ms'.padStart(13)} ${'request 2 ms'.padStart(13)} ${'memory MB'.padStart(10)}`);
const rows = [
  // No count at all: what a first request to a fresh process costs with this module loaded.
  ['ours', 'memory_bytes', 'llmobserve', ['(none)']],
  ['ours', 'count_ours', 'llmobserve', ['o200k', 'cl100k']],
  ['tiktoken', 'memory_bytes', 'tiktoken-rs', ['(none)']],
  ['tiktoken', 'count_tiktoken', 'tiktoken-rs', ['o200k', 'cl100k']],
];
for (const [variant, fn, name, encodings] of rows) {
  const dir = mkdtempSync(join(tmpdir(), `token-bench-${variant}-`));
  for (const f of ['bench.js', 'bench_bg.wasm']) copyFileSync(join(pkg, `${variant}-web`, f), join(dir, f));
  writeFileSync(join(dir, 'worker.js'), WORKER);
  writeFileSync(join(dir, 'config.capnp'), config(dir));
  for (const enc of encodings) {
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await once(dir, fn, enc));
    const col = (f) => median(samples.map(f));
    console.log(
      `${name.padEnd(12)} ${enc.padEnd(7)} ${col((s) => s.first.ms).toFixed(0).padStart(13)} ${col((s) => s.first.latency).toFixed(2).padStart(13)} ${col((s) => s.second.latency).toFixed(2).padStart(13)} ${(col((s) => s.first.memory) / 1e6).toFixed(1).padStart(10)}`,
    );
  }
}
