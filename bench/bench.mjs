#!/usr/bin/env node
// The gateway-overhead benchmark: the same chat-completion calls, direct to a fast mock
// upstream and through each target, in shuffled rounds. It reports added latency
// (target minus direct, in the same round), streaming time to first byte, throughput,
// CPU per request and peak memory, as medians across rounds, and checks the issue's
// ratios within the run. bench/run.sh installs and builds what this needs, then runs it.
//
//   node bench/bench.mjs [--profile full|quick|smoke] [--out FILE] [--seed N]
//
// full: 5 rounds, every target, writes BENCHMARKS.md. quick: 1 short round, every target,
// writes nothing unless --out. smoke: 1 round of 50 requests against direct and llmobserve,
// checks that everything answered and was recorded, exits non-zero otherwise.
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { cpuMs, loadavg, machine, peakRssMiB, systemCpu } from './lib/proc.mjs';
import { oha, ohaVersion } from './lib/oha.mjs';
import { streamRun } from './lib/stream-client.mjs';
import { median, percentile, seeded, shuffle } from './lib/stats.mjs';
import {
  BENCH, LITELLM, MOCK_HEADERS, REPLY_WORDS, ROOT,
  killAll, startLiteLLM, startMiniflare, startMock, startPortkey, startWorkerd,
} from './lib/targets.mjs';
import { renderConsole, renderMarkdown, writeSection } from './lib/report.mjs';

const started = Date.now();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`[bench] ${signal}: stopping every target`);
    killAll();
    process.exit(130);
  });
}
const { values: argv } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    out: { type: 'string' },
    seed: { type: 'string' },
    only: { type: 'string' }, // comma-separated target ids, for a quick look at a few
    // A copy of an earlier worker/build: run as one more target in the same rounds, so that
    // a change is measured before and after, interleaved (with --ab: `bench/README.md`).
    baseline: { type: 'string' },
  },
});

/**
 * How much each phase runs. Phases run for a fixed time rather than a fixed count, so
 * that a slow target cannot stretch the run: a fast one gets thousands of samples per
 * phase, LiteLLM a few hundred. Streams: up to `streams` calls within `streamSeconds`.
 */
const PROFILES = {
  full: { rounds: 5, c1Seconds: 4, c32Seconds: 4, streams: 60, streamSeconds: 4, minStreams: 20, coldReps: 3, internal: true, probeSeconds: 3, probeReps: 3 },
  quick: { rounds: 1, c1Seconds: 2, c32Seconds: 2, streams: 20, streamSeconds: 2, minStreams: 10, coldReps: 1, internal: true, probeSeconds: 2, probeReps: 1 },
  // Before/after comparisons while developing: the ratios of 3 shuffled rounds, nothing else.
  ab: { rounds: 3, c1Seconds: 3, c32Seconds: 3, streams: 20, streamSeconds: 1, minStreams: 10, coldReps: 0, internal: false },
  smoke: { rounds: 1, n1: 50, n32: 50, streams: 5, streamSeconds: Infinity, minStreams: 5, coldReps: 0, internal: false, only: ['direct', 'llmobserve'] },
};
const profileName = argv.profile;
const P = PROFILES[profileName];
if (!P) throw new Error(`unknown profile ${profileName}: full, quick, ab or smoke`);
if (argv.only) P.only = ['direct', 'llmobserve', ...argv.only.split(',')];
if (argv.baseline && P.only) P.only.push('llmobserve-baseline');
const seed = argv.seed ? Number(argv.seed) : (Date.now() & 0x7fffffff);
const rng = seeded(seed);
const CHUNK_DELAY_MS = Number(MOCK_HEADERS['x-mock-chunk-delay-ms']);
const REPLY = MOCK_HEADERS['x-mock-reply'];
const MODEL = 'gpt-4o-mini';
const MESSAGES = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Name a quick animal and what it jumps over.' },
];
const BODY = JSON.stringify({ model: MODEL, messages: MESSAGES, max_tokens: 16 });
const STREAM_BODY = JSON.stringify({ model: MODEL, messages: MESSAGES, max_tokens: 16, stream: true });
const CHAT = '/v1/chat/completions';
const TENANT = 'bench';

const log = (...a) => console.error('[bench]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

/** CPU of a tree once it stopped moving (work queued with waitUntil finishes after the responses). */
async function settledCpu(pid) {
  let last = cpuMs(pid);
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    const c = cpuMs(pid);
    if (c - last < 1) return c;
    last = c;
  }
  return last;
}

// ---------------------------------------------------------------------------------------
// Targets

// Targets that forward to the mock take its key as it is.
const UPSTREAM_AUTH = { authorization: 'Bearer sk-bench-upstream' };
/** A floor Worker of `lib/miniflare-host.mjs`'s kind, pointed at the mock. */
const floorWorker = (kind) => async (mock) => ({ ...(await startMiniflare(kind, mock.url)), headers: UPSTREAM_AUTH });

const TARGETS = [
  {
    id: 'direct', label: 'direct to the mock (baseline)',
    start: async (mock) => ({ url: mock.url, pid: mock.pid, headers: UPSTREAM_AUTH }),
  },
  {
    id: 'js', label: 'JS passthrough Worker (Miniflare, workerd)', floor: true,
    start: floorWorker('passthrough'),
  },
  {
    // Events go to the queue; its consumer writes them to D1 in batches (EVENT_WRITE_MODE
    // = queue, docs/delivery.md: the main path at volume).
    id: 'llmobserve', label: 'llmobserve (Miniflare, workerd, local D1, queue write mode)',
    start: (mock) => startLlmobserve(mock, 'queue'),
  },
  {
    // Each event written to D1 on its own after the response (EVENT_WRITE_MODE = direct).
    id: 'llmobserve-direct', label: 'llmobserve, direct write mode (one D1 insert per call)',
    start: (mock) => startLlmobserve(mock, 'direct'),
  },
  {
    // The JS passthrough plus the D1 statements llmobserve runs per call, on the same
    // runtime: how much of llmobserve's cost is the local D1's rather than its own.
    id: 'js-d1', label: 'JS passthrough + llmobserve\'s D1 statements (Miniflare, local D1)',
    start: floorWorker('passthrough-d1'),
  },
  {
    // The JS passthrough plus reading what a pricing gateway must read: both JSON bodies
    // whole, an event stream chunk by chunk through the worker.
    id: 'js-read', label: 'JS passthrough that reads what it prices (Miniflare, workerd)',
    start: floorWorker('passthrough-read'),
  },
  {
    // The Rust/wasm floor: workers-rs, forwarding the runtime's own request and response.
    id: 'wasm', label: 'Rust/wasm passthrough Worker (workers-rs, Miniflare, workerd)',
    start: floorWorker('wasm-passthrough'),
  },
  {
    id: 'js-workerd', label: 'JS passthrough Worker (bare workerd serve)',
    start: async (mock) => ({ ...(await startWorkerd(mock.url)), headers: UPSTREAM_AUTH }),
  },
  ...(argv.baseline ? [{
    id: 'llmobserve-baseline', label: `llmobserve, baseline build (${argv.baseline})`,
    start: (mock) => startLlmobserve(mock, 'queue', join(resolve(argv.baseline), 'index.js')),
  }] : []),
  { id: 'portkey', label: 'Portkey gateway (node)', start: (mock) => startPortkey(mock.url) },
  { id: 'litellm', label: 'LiteLLM proxy', start: (mock) => startLiteLLM(mock.url) },
];

async function startLlmobserve(mock, writeMode, scriptPath) {
  const w = await startMiniflare('llmobserve', mock.url, { writeMode, ...(scriptPath ? { scriptPath } : {}) });
  return {
    ...w,
    headers: {
      authorization: `Bearer ${w.key}`,
      'x-llmobserve-tenant': TENANT,
      'x-llmobserve-customer': 'alice',
      'x-llmobserve-section': 'agent:bench/step:call',
      'x-llmobserve-run-id': 'bench-run',
    },
  };
}

/** One non-streamed and one streamed call: each must answer 200 with the mock's reply. */
async function validate(t) {
  const r = await fetch(t.url + CHAT, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers, ...MOCK_HEADERS }, body: BODY });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`non-streamed call: ${r.status} ${text.slice(0, 300)}`);
  const content = JSON.parse(text).choices?.[0]?.message?.content;
  if (content !== REPLY) throw new Error(`non-streamed call: reply ${JSON.stringify(content)} is not the mock's (x-mock-* headers not forwarded?)`);
  const [s] = await streamRun({ url: t.url + CHAT, headers: { ...t.headers, ...MOCK_HEADERS }, body: STREAM_BODY, n: 1, warmup: 0 });
  if (s.status !== 200 || !s.done) throw new Error(`streamed call: status ${s.status}, [DONE] ${s.done}: ${s.body.slice(0, 300)}`);
  if (s.text.replace(/\s/g, '') !== REPLY.replace(/\s/g, '')) throw new Error(`streamed call: text ${JSON.stringify(s.text)} is not the mock's reply`);
  return { streamEvents: s.events, choiceEvents: s.choiceMs.length, usageEvents: s.usageEvents };
}

function summarizeStream(samples) {
  const ok = samples.filter((s) => s.status === 200 && s.done).length;
  const minLen = Math.min(...samples.map((s) => s.choiceMs.length));
  const choiceMs = Array.from({ length: minLen }, (_, i) => median(samples.map((s) => s.choiceMs[i])));
  // A chunk "coalesced" with the one before it arrived less than half a pacing interval
  // after it: the mock sent them CHUNK_DELAY_MS apart, so something held it back.
  const coalesced = samples.map((s) => s.choiceMs.filter((at, i) => i > 0 && at - s.choiceMs[i - 1] < CHUNK_DELAY_MS / 2).length);
  // Held back for good: at this position, the typical request got the chunk together with
  // the one before it. A busy machine coalesces chunks at random positions, which the
  // median over requests leaves out; a gateway that buffers does it at the same ones.
  const gaps = Array.from({ length: Math.max(0, minLen - 1) }, (_, i) => median(samples.map((s) => s.choiceMs[i + 1] - s.choiceMs[i])));
  return {
    n: samples.length, ok,
    ttfb: percentile(samples.map((s) => s.ttfbMs), 50),
    ttfbP90: percentile(samples.map((s) => s.ttfbMs), 90),
    total: percentile(samples.map((s) => s.totalMs), 50),
    headers: percentile(samples.map((s) => s.headersMs), 50),
    choiceMs,
    gaps,
    heldBack: gaps.filter((g) => g < CHUNK_DELAY_MS / 2).length,
    coalesced: median(coalesced),
  };
}

const WARMUP = 100;

async function measure(t) {
  const url = t.url + CHAT;
  const headers = { 'content-type': 'application/json', ...t.headers, ...MOCK_HEADERS };
  const warm = await oha({ url, headers, body: BODY, n: WARMUP, c: 4 }); // not recorded
  const c1 = await oha({ url, headers, body: BODY, n: P.n1, seconds: P.c1Seconds, c: 1 });
  const cpu0 = await settledCpu(t.pid);
  const c32 = await oha({ url, headers, body: BODY, n: P.n32, seconds: P.c32Seconds, c: 32 });
  const cpu1 = await settledCpu(t.pid);
  const sCpu0 = cpuMs(t.pid);
  const samples = await streamRun({
    url, headers: { ...t.headers, ...MOCK_HEADERS }, body: STREAM_BODY,
    n: P.streams, warmup: 3, maxMs: P.streamSeconds * 1000, minN: P.minStreams,
  });
  const sCpu1 = await settledCpu(t.pid);
  const stream = summarizeStream(samples);
  return {
    c1, c32, stream,
    cpuMsPerReq: (cpu1 - cpu0) / c32.n,
    cpuMsPerStream: (sCpu1 - sCpu0) / (samples.length + 3),
    requests: { nonStream: warm.n + c1.n + c32.n, stream: samples.length + 3 },
    failures: (warm.n - warm.ok) + (c1.n - c1.ok) + (c32.n - c32.ok) + (stream.n - stream.ok),
  };
}

// ---------------------------------------------------------------------------------------
// Worker-internal figures

function wasmSize() {
  const path = join(ROOT, 'worker/build/index_bg.wasm');
  const bytes = readFileSync(path);
  const js = join(ROOT, 'worker/build/index.js');
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, glueJs: statSync(js).size };
}

async function coldStarts(mock, reps) {
  const out = { llmobserve: [], js: [], jsD1: [], jsWorkerd: [] };
  for (let i = 0; i < reps; i++) {
    for (const kind of shuffle(['llmobserve', 'passthrough', 'passthrough-d1', 'workerd'], rng)) {
      if (kind === 'workerd') {
        const w = await startWorkerd(mock.url);
        out.jsWorkerd.push(w.timings.readyToFirstResponseMs);
        await w.stop();
      } else {
        const w = await startMiniflare(kind, mock.url);
        ({ llmobserve: out.llmobserve, passthrough: out.js, 'passthrough-d1': out.jsD1 })[kind].push(w.timings);
        await w.stop();
      }
    }
  }
  const sum = (xs) => ({
    readyMs: median(xs.map((x) => x.readyMs)),
    firstResponseMs: median(xs.map((x) => x.firstResponseMs)),
    totalMs: median(xs.map((x) => x.readyMs + x.firstResponseMs)),
  });
  return {
    reps, llmobserve: sum(out.llmobserve), js: sum(out.js), jsD1: sum(out.jsD1),
    jsWorkerd: { totalMs: median(out.jsWorkerd) },
  };
}

/** Runs `fn` (which returns `{ n }`, the requests it made) and adds the target's CPU per request. */
async function cpuPer(t, fn) {
  const c0 = await settledCpu(t.pid);
  const r = await fn();
  const c1 = await settledCpu(t.pid);
  return { ...r, cpuMsPerReq: (c1 - c0) / r.n };
}

/** The parts of llmobserve's cost that can be told apart from outside. */
async function internals(llmo, js, jsRead, mock, seconds) {
  const url = llmo.url + CHAT;
  const base = { 'content-type': 'application/json', ...MOCK_HEADERS };
  const { authorization, ...attribution } = llmo.headers;
  // Calls at c=1 that stop at successive steps, in shuffled order, `probeReps` times
  // (medians): no key, so a 401 before any D1 access; a valid key and an attribution
  // header that fails validation, so a 400 after the key lookup and nothing upstream;
  // the full call; the JS passthrough and direct, for scale.
  const probes = {
    direct: { t: null, url: mock.url + CHAT, headers: { ...base, ...UPSTREAM_AUTH } },
    noKey: { t: llmo, url, headers: { ...base, ...attribution } },
    authThenReject: { t: llmo, url, headers: { ...base, ...llmo.headers, 'x-llmobserve-tenant': 'not a tenant!' } },
    full: { t: llmo, url, headers: { ...base, ...llmo.headers } },
    jsFull: { t: js, url: js.url + CHAT, headers: { ...base, ...js.headers } },
  };
  const runs = Object.fromEntries(Object.keys(probes).map((k) => [k, []]));
  for (let rep = 0; rep < P.probeReps; rep++) {
    for (const k of shuffle(Object.keys(probes), rng)) {
      const p = probes[k];
      const run = () => oha({ url: p.url, headers: p.headers, body: BODY, seconds, c: 1 });
      runs[k].push(p.t ? await cpuPer(p.t, run) : await run());
      await mock.reset();
    }
  }
  const out = {};
  for (const [k, rs] of Object.entries(runs)) {
    out[k] = {
      n: rs.reduce((a, r) => a + r.n, 0),
      p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
      cpuMsPerReq: median(rs.map((r) => r.cpuMsPerReq ?? null)),
      statuses: rs.reduce((a, r) => { for (const [st, n] of Object.entries(r.statuses)) a[st] = (a[st] ?? 0) + n; return a; }, {}),
    };
  }
  out.directC1 = out.direct;
  // Server-Timing as llmobserve reports it (whole ms: Workers clocks move only across I/O).
  const st = await streamRun({ url, headers: { ...llmo.headers, ...MOCK_HEADERS }, body: BODY, n: 200, warmup: 0, maxMs: seconds * 1000, minN: 20 });
  const dur = (name) => st.map((s) => Number(s.serverTiming?.match(new RegExp(`${name};dur=(\\d+(?:\\.\\d+)?)`))?.[1])).filter(Number.isFinite);
  out.serverTiming = {
    n: st.length,
    ownP50: percentile(dur('llmobserve'), 50), ownP90: percentile(dur('llmobserve'), 90), ownMax: percentile(dur('llmobserve'), 100),
    ownMean: dur('llmobserve').reduce((a, b) => a + b, 0) / Math.max(1, dur('llmobserve').length),
    upstreamP50: percentile(dur('upstream'), 50),
    header: st[0]?.serverTiming ?? null,
  };
  // CPU per streamed chunk: the slope between a short and a long reply, unpaced.
  const words = (k) => Array.from({ length: k }, (_, i) => `w${i}`).join(' ');
  const streams = P.rounds > 1 ? 50 : 20;
  const chunkCost = async (t) => {
    const run = async (k) => cpuPer(t, async () => {
      await streamRun({ url: t.url + CHAT, headers: { ...t.headers, 'x-mock-reply': words(k), 'x-mock-chunk-delay-ms': '0' }, body: STREAM_BODY, n: streams, warmup: 0 });
      return { n: streams };
    });
    const short = await run(4);
    const long = await run(64);
    return { shortCpuMsPerStream: short.cpuMsPerReq, longCpuMsPerStream: long.cpuMsPerReq, cpuMsPerChunk: (long.cpuMsPerReq - short.cpuMsPerReq) / 60 };
  };
  out.chunks = { llmobserve: await chunkCost(llmo), js: await chunkCost(js), jsRead: jsRead ? await chunkCost(jsRead) : null, streams };
  await mock.reset();
  return out;
}

/**
 * Events recorded for the benchmark tenant: calls and priced calls, once the count has not
 * moved for longer than events can wait on their way (a write gathering for up to 50 ms,
 * then the queue holding a batch for up to its max_batch_timeout of 1 s): a count read
 * right after the last call would miss the last batch.
 */
async function recordedEvents(llmo) {
  const STILL_MS = 2500;
  let last = null;
  let since = now();
  const until = now() + 60000;
  while (now() < until) {
    const r = await fetch(`${llmo.url}/tenants/${TENANT}/customers`, { headers: { authorization: `Bearer ${llmo.adminToken}` } });
    const j = await r.json();
    const calls = (j.data ?? []).reduce((a, c) => a + c.calls, 0);
    const priced = (j.data ?? []).reduce((a, c) => a + c.priced_calls, 0);
    if (!last || last.calls !== calls || last.priced !== priced) {
      last = { calls, priced };
      since = now();
    } else if (now() - since >= STILL_MS) {
      return last;
    }
    await sleep(200);
  }
  return last;
}

// ---------------------------------------------------------------------------------------
// Versions and machine

function sh(cmd, args, opts) {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], ...opts }).trim(); } catch { return null; }
}
function pkgVersion(dir) {
  try { return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version; } catch { return null; }
}
async function versions() {
  const peers = join(BENCH, 'peers/node_modules');
  return {
    llmobserve: sh('git', ['-C', ROOT, 'describe', '--always', '--dirty', '--abbrev=12']),
    node: process.version,
    workerd: sh(join(ROOT, 'node_modules/@cloudflare/workerd-linux-64/bin/workerd'), ['--version'])?.replace(/^workerd /, ''),
    miniflare: pkgVersion(join(ROOT, 'node_modules/miniflare')),
    wrangler: pkgVersion(join(ROOT, 'node_modules/wrangler')),
    oha: (await ohaVersion())?.replace(/^oha /, ''),
    rustc: sh('rustc', ['--version']),
    litellm: existsSync(LITELLM) ? sh(join(BENCH, '.venv/bin/python'), ['-c', 'import importlib.metadata as m; print(m.version("litellm"))']) : null,
    python: existsSync(LITELLM) ? sh(join(BENCH, '.venv/bin/python'), ['--version']) : null,
    portkey: pkgVersion(join(peers, '@portkey-ai/gateway')),
    honoNodeServer: pkgVersion(join(peers, '@hono/node-server')),
  };
}

// ---------------------------------------------------------------------------------------
// Aggregation

function aggregate(results, live) {
  const direct = results.direct;
  const rows = {};
  for (const t of live) {
    const rs = results[t.id].rounds;
    const added = (get) => median(rs.map((r, i) => {
      const a = get(r); const b = get(direct.rounds[i]);
      return a === null || b === null ? null : a - b;
    }));
    const abs = (get) => median(rs.map(get));
    const lag = median(rs.map((r, i) => {
      const a = r.stream.choiceMs; const b = direct.rounds[i].stream.choiceMs;
      const len = Math.min(a.length, b.length);
      if (!len) return null;
      const d = Array.from({ length: len }, (_, k) => a[k] - b[k]);
      return Math.max(...d) - d[0];
    }));
    rows[t.id] = {
      id: t.id, label: t.label,
      abs: {
        c1: { p50: abs((r) => r.c1.p50), p90: abs((r) => r.c1.p90), p99: abs((r) => r.c1.p99) },
        c32: { p50: abs((r) => r.c32.p50), p90: abs((r) => r.c32.p90), p99: abs((r) => r.c32.p99) },
        ttfb: abs((r) => r.stream.ttfb), streamTotal: abs((r) => r.stream.total),
      },
      added: {
        c1: { p50: added((r) => r.c1.p50), p90: added((r) => r.c1.p90), p99: added((r) => r.c1.p99) },
        c32: { p50: added((r) => r.c32.p50), p90: added((r) => r.c32.p90), p99: added((r) => r.c32.p99) },
        ttfb: added((r) => r.stream.ttfb), streamTotal: added((r) => r.stream.total),
      },
      chunkLagMs: lag,
      coalesced: abs((r) => r.stream.coalesced),
      heldBack: abs((r) => r.stream.heldBack),
      rps32: abs((r) => r.c32.rps),
      cpuMsPerReq: abs((r) => r.cpuMsPerReq),
      cpuMsPerStream: abs((r) => r.cpuMsPerStream),
      failures: rs.reduce((a, r) => a + r.failures, 0),
      rounds: rs.length,
      samples: { c1: abs((r) => r.c1.n), c32: abs((r) => r.c32.n), streams: abs((r) => r.stream.n) },
    };
  }
  return rows;
}

function checks(rows, wallSeconds) {
  const L = rows.llmobserve; const J = rows.js; const PK = rows.portkey; const LL = rows.litellm; const D = rows.direct;
  const out = [];
  const ratio = (a, b) => (a === null || b === null || b <= 0 ? null : a / b);
  const add = (what, value, limit, pass, note) => out.push({ what, value, limit, pass, note });
  const atMost = (what, a, b, k) => {
    const r = ratio(a, b);
    add(what, r, `<= ${k}x`, r === null ? null : r <= k, r === null ? 'the floor is <= 0 ms: within noise, no ratio' : null);
  };
  const atLeast = (what, peer, ours, k, peerRow, peerId) => {
    if (!peerRow && !result.unavailable[peerId]) return null; // not part of this profile
    if (!peerRow) return add(what, null, `>= ${k}x`, null, `peer not available: ${result.unavailable[peerId].reason}`);
    const r = ratio(peer, ours);
    add(what, r, `>= ${k}x`, r === null ? (peer > 0 && ours <= 0 ? true : null) : r >= k, r === null ? 'llmobserve added <= 0 ms: within noise' : null);
  };
  if (L && J) {
    atMost('added p50, c=1: llmobserve / JS passthrough', L.added.c1.p50, J.added.c1.p50, 2);
    atMost('added p99, c=1: llmobserve / JS passthrough', L.added.c1.p99, J.added.c1.p99, 3);
    atMost('added p50, c=32: llmobserve / JS passthrough', L.added.c32.p50, J.added.c32.p50, 1.5);
  }
  if (L) {
    atLeast('added p50, c=1: Portkey / llmobserve', PK?.added.c1.p50, L.added.c1.p50, 2, PK, 'portkey');
    atLeast('added p50, c=32: Portkey / llmobserve', PK?.added.c32.p50, L.added.c32.p50, 2, PK, 'portkey');
    atLeast('added p50, c=1: LiteLLM / llmobserve', LL?.added.c1.p50, L.added.c1.p50, 20, LL, 'litellm');
    atLeast('added p50, c=32: LiteLLM / llmobserve', LL?.added.c32.p50, L.added.c32.p50, 20, LL, 'litellm');
  }
  if (L && J) {
    atMost('stream: added TTFB, llmobserve / JS passthrough', L.added.ttfb, J.added.ttfb, 2);
    const held = L.heldBack > 0 || L.chunkLagMs >= CHUNK_DELAY_MS / 2;
    add('stream: no chunk held back (llmobserve)', L.chunkLagMs, `0 chunks held back, lag < ${CHUNK_DELAY_MS / 2} ms`, !held,
      `chunks held back: ${L.heldBack} (JS passthrough ${J.heldBack}, Portkey ${PK?.heldBack ?? '–'}, LiteLLM ${LL?.heldBack ?? '–'}); `
      + `coalesced per request, busy machine included: ${L.coalesced} (JS passthrough ${J.coalesced}, direct ${D?.coalesced ?? '–'}); most a chunk lags behind the first: ${L.chunkLagMs?.toFixed(2)} ms`);
    atMost('CPU per non-streamed request: llmobserve / JS passthrough', L.cpuMsPerReq, J.cpuMsPerReq, 3);
  }
  add('benchmark wall time (s)', wallSeconds, '< 900 s', wallSeconds < 900, null);
  return out;
}

// ---------------------------------------------------------------------------------------
// Main

const load0 = loadavg();
const sys0 = systemCpu();
const own0 = cpuMs(process.pid);
const result = {
  profile: profileName, seed, params: P, startedAt: new Date(started).toISOString(),
  machine: { ...machine(), nproc: availableParallelism(), loadavgAtStart: load0 },
  versions: await versions(),
  request: { model: MODEL, messages: MESSAGES.length, maxTokens: 16, mockHeaders: MOCK_HEADERS, replyWords: REPLY_WORDS },
  d1: process.env.BENCH_D1_PERSIST === 'memory' ? 'in memory' : 'on disk',
  unavailable: {}, validation: {}, cold: null, wasm: null, internal: null, eventsByTarget: null, memory: {}, idleCpuMsPerS: {},
};
log(`profile ${profileName}, seed ${seed}, load average ${load0.join(' ')}`);

const mock = await startMock();
const live = [];
let exitCode = 0;
try {
  result.wasm = wasmSize();
  if (P.coldReps) {
    log(`cold starts (${P.coldReps} of each)`);
    result.cold = await coldStarts(mock, P.coldReps);
  }
  // Start every target at once (LiteLLM alone takes many seconds to import), then check each.
  const defs = TARGETS.filter((def) => !P.only || P.only.includes(def.id));
  log(`starting ${defs.map((d) => d.id).join(', ')}`);
  const starting = await Promise.all(defs.map(async (def) => {
    try {
      return { def, t: { ...def, ...(await def.start(mock)) } };
    } catch (error) {
      return { def, error };
    }
  }));
  for (const { def, t, error } of starting) {
    try {
      if (error) throw error;
      live.push(t);
      result.validation[def.id] = await validate(t);
    } catch (e) {
      const reason = String(e.message ?? e).split('\n')[0];
      log(`not available: ${def.label}: ${reason}`);
      result.unavailable[def.id] = { label: def.label, reason };
      const i = live.findIndex((t) => t.id === def.id);
      if (i >= 0) { await live[i].stop?.(); live.splice(i, 1); }
      if (def.id === 'direct' || def.id === 'llmobserve') throw e;
    }
  }
  // Idle CPU of each target over one second: what it burns with no traffic.
  for (const t of live) {
    const c0 = cpuMs(t.pid); await sleep(1000); result.idleCpuMsPerS[t.id] = cpuMs(t.pid) - c0;
  }

  const results = Object.fromEntries(live.map((t) => [t.id, { rounds: [] }]));
  for (let r = 0; r < P.rounds; r++) {
    const order = shuffle(live, rng);
    log(`round ${r + 1}/${P.rounds}: ${order.map((t) => t.id).join(', ')}`);
    for (const t of order) {
      const t0 = now();
      try {
        results[t.id].rounds.push({ order: order.indexOf(t), ...(await measure(t)) });
      } catch (e) {
        // A peer that breaks mid-run leaves the table with its reason; the run goes on.
        if (t.id === 'direct' || t.id === 'llmobserve' || t.id === 'js') throw e;
        const reason = `failed in round ${r + 1}: ${String(e.message ?? e).split('\n')[0]}`;
        log(`not available: ${t.label}: ${reason}\n${t.logs?.().slice(-2000) ?? ''}`);
        result.unavailable[t.id] = { label: t.label, reason };
        delete results[t.id];
        live.splice(live.indexOf(t), 1);
        await t.stop?.();
      }
      await mock.reset();
      log(`  ${t.id}: ${((now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  result.raw = results;

  const llmo = live.find((t) => t.id === 'llmobserve');
  // Every call each llmobserve target served must be recorded once, and priced: numbers
  // from a worker that drops events are not numbers of llmobserve.
  result.eventsByTarget = {};
  for (const t of live.filter((x) => x.id.startsWith('llmobserve'))) {
    const sent = results[t.id].rounds.reduce((a, r) => a + r.requests.nonStream + r.requests.stream, 0) + 2; // + validation
    result.eventsByTarget[t.id] = { sent, ...(await recordedEvents(t)) };
    log(`${t.id} events: ${result.eventsByTarget[t.id].calls} recorded (${result.eventsByTarget[t.id].priced} priced) for ${sent} calls`);
  }

  const js = live.find((t) => t.id === 'js');
  if (P.internal && js) {
    log('worker-internal figures');
    result.internal = await internals(llmo, js, live.find((t) => t.id === 'js-read'), mock, P.probeSeconds);
  }
  for (const t of live) result.memory[t.id] = peakRssMiB(t.pid);
  result.rows = aggregate(results, live);
} catch (e) {
  log(`benchmark failed: ${e.stack ?? e}`);
  for (const t of live) log(`--- ${t.id} output ---\n${t.logs?.().slice(-2000) ?? ''}`);
  exitCode = 1;
} finally {
  // Every process of the benchmark descends from this one: the targets still running
  // count in our tree, and the ones already stopped were waited for. The rest of the
  // machine's busy time is other work.
  const sys1 = systemCpu();
  const own1 = cpuMs(process.pid);
  result.machine.otherCores = Math.max(0, (sys1.busy - sys0.busy) * 10 - (own1 - own0)) / (Date.now() - started);
  result.machine.busyPercent = (100 * (sys1.busy - sys0.busy)) / Math.max(1, sys1.total - sys0.total);
  for (const t of live) { if (t.id !== 'direct') await t.stop?.(); }
  await mock.stop();
}

result.machine.loadavgAtEnd = loadavg();
result.wallSeconds = (Date.now() - started) / 1000;
result.totalSeconds = process.env.BENCH_RUN_STARTED_MS ? (Date.now() - Number(process.env.BENCH_RUN_STARTED_MS)) / 1000 : result.wallSeconds;

if (result.rows) {
  result.checks = checks(result.rows, result.totalSeconds);
  console.log(renderConsole(result));
  const problems = [];
  for (const [id, e] of Object.entries(result.eventsByTarget ?? {})) {
    if (e.calls !== e.sent) problems.push(`${id}: ${e.calls} events recorded for ${e.sent} calls`);
    if (e.priced !== e.calls) problems.push(`${id}: ${e.priced} of ${e.calls} events priced`);
  }
  if (profileName === 'smoke') {
    const r = result.rows;
    for (const id of Object.keys(r)) if (r[id].failures) problems.push(`${id}: ${r[id].failures} failed requests`);
  }
  if (problems.length) {
    log(`FAILED, these numbers are not valid: ${problems.join('; ')}`);
    exitCode = 1;
  } else if (profileName === 'smoke') log('smoke passed');
}
mkdirSync(join(BENCH, 'results'), { recursive: true });
const stamp = result.startedAt.replace(/[:.]/g, '-');
const jsonPath = join(BENCH, 'results', `${stamp}-${profileName}.json`);
writeFileSync(jsonPath, JSON.stringify(result, null, 2));
log(`raw results: ${jsonPath}`);
const out = argv.out ?? (profileName === 'full' ? join(ROOT, 'BENCHMARKS.md') : null);
if (out && result.rows && exitCode === 0) {
  writeSection(out, renderMarkdown(result));
  log(`wrote ${out}`);
}
log(`done in ${result.wallSeconds.toFixed(0)} s`);
process.exit(exitCode);
