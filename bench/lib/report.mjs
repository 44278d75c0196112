// Renders a benchmark result as a console table and as the "Gateway overhead, side by
// side" section of BENCHMARKS.md, and puts that section into the file without touching
// the other sections.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const SECTION = 'Gateway overhead, side by side';
const BEGIN = '<!-- bench/run.sh writes from here: gateway overhead -->';
const END = '<!-- bench/run.sh writes up to here: gateway overhead -->';

const f = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const signed = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(d)}`);
const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;

const ORDER = ['direct', 'js', 'js-workerd', 'js-read', 'wasm', 'js-d1', 'llmobserve', 'llmobserve-direct', 'portkey', 'litellm'];

function rowsInOrder(result) {
  const ids = [...new Set([...ORDER, ...Object.keys(result.rows ?? {}), ...Object.keys(result.unavailable ?? {})])];
  return ids.filter((id) => result.rows?.[id] || result.unavailable?.[id]);
}

function mainTable(result) {
  const head = ['target', '+p50 c=1', '+p90 c=1', '+p99 c=1', '+p50 c=32', '+p90 c=32', '+p99 c=32',
    'stream +TTFB', 'stream +total', 'chunks held back', 'req/s c=32', 'CPU ms/req', 'peak RSS MiB'];
  const lines = [head];
  for (const id of rowsInOrder(result)) {
    const r = result.rows?.[id];
    if (!r) {
      const u = result.unavailable[id];
      lines.push([u.label, `not available: ${u.reason}`, ...Array(head.length - 2).fill('')]);
      continue;
    }
    const m = result.memory?.[id];
    const runtime = m?.per?.find((x) => x.comm === 'workerd');
    const mem = m?.total;
    const memText = runtime && m.per.length > 1 ? `${f(mem, 0)} (workerd ${f(runtime.mib, 0)})` : f(mem, 0);
    if (id === 'direct') {
      const a = r.abs;
      lines.push([`${r.label} (absolute)`, f(a.c1.p50), f(a.c1.p90), f(a.c1.p99), f(a.c32.p50), f(a.c32.p90), f(a.c32.p99),
        f(a.ttfb), f(a.streamTotal), f(r.heldBack, 0), f(r.rps32, 0), `${f(r.cpuMsPerReq, 3)} (mock)`, `${f(mem, 0)} (mock)`]);
      continue;
    }
    const a = r.added;
    lines.push([r.label + (r.failures ? ` (${r.failures} failed requests)` : ''), signed(a.c1.p50), signed(a.c1.p90), signed(a.c1.p99),
      signed(a.c32.p50), signed(a.c32.p90), signed(a.c32.p99), signed(a.ttfb), signed(a.streamTotal), f(r.heldBack, 0),
      f(r.rps32, 0), f(r.cpuMsPerReq, 3), memText]);
  }
  return lines;
}

function samplesLine(result) {
  const parts = rowsInOrder(result).filter((id) => result.rows?.[id]).map((id) => {
    const s = result.rows[id].samples;
    return `${id} ${f(s.c1, 0)} / ${f(s.c32, 0)} / ${f(s.streams, 0)}`;
  });
  return `Samples per round (median; c=1 / c=32 / streams): ${parts.join('; ')}.`;
}

function checksTable(result) {
  const lines = [['target (ratio within this run)', 'measured', 'limit', 'result']];
  for (const c of result.checks ?? []) {
    const value = c.what.startsWith('benchmark wall') ? f(c.value, 0)
      : c.what.startsWith('stream: no chunk') ? `${f(c.value)} ms lag`
        : c.value === null ? '–' : `${f(c.value)}x`;
    const verdict = c.pass === null ? 'n/a' : c.pass ? 'pass' : 'FAIL';
    lines.push([c.what, value, c.limit, verdict + (c.note ? ` (${c.note})` : '')]);
  }
  return lines;
}

function md(lines) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [
    `| ${lines[0].map(esc).join(' | ')} |`,
    `|${lines[0].map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...lines.slice(1).map((l) => `| ${l.map(esc).join(' | ')} |`),
  ].join('\n');
}

function text(lines) {
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => String(l[i] ?? '').length)));
  return lines.map((l) => l.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ')).join('\n');
}

function internalLines(result) {
  const out = [];
  const w = result.wasm;
  if (w) out.push(`- wasm: ${kib(w.raw)} raw, ${kib(w.gzip)} gzipped (level 9); JS glue ${kib(w.glueJs)} (worker/build, release build without wasm-opt).`);
  const c = result.cold;
  if (c) {
    out.push(`- cold start (median of ${c.reps}; Miniflare: \`new Miniflare()\` until the socket accepts, then the worker's first request): `
      + `llmobserve ${f(c.llmobserve.readyMs, 0)} ms + ${f(c.llmobserve.firstResponseMs, 1)} ms first response (POST /admin/keys, a D1 write) = ${f(c.llmobserve.totalMs, 0)} ms; `
      + `JS passthrough ${f(c.js.readyMs, 0)} ms + ${f(c.js.firstResponseMs, 1)} ms = ${f(c.js.totalMs, 0)} ms; `
      + `JS passthrough with a D1 binding (the same Miniflare D1 setup as llmobserve) ${f(c.jsD1.readyMs, 0)} ms + ${f(c.jsD1.firstResponseMs, 1)} ms = ${f(c.jsD1.totalMs, 0)} ms; `
      + `JS passthrough under bare workerd, process start to first response: ${f(c.jsWorkerd.totalMs, 0)} ms. `
      + `What the wasm adds to the start (compiling and instantiating it, as the worker's module is evaluated): about ${f(c.llmobserve.readyMs - c.jsD1.readyMs, 0)} ms, llmobserve's ready time minus that of the JS worker with the same D1 setup.`);
  }
  const L = result.rows?.llmobserve; const J = result.rows?.js;
  if (L) {
    out.push(`- CPU per non-streamed request (c=32 phase, workerd + Miniflare host process): llmobserve ${f(L.cpuMsPerReq, 3)} ms, JS passthrough ${f(J?.cpuMsPerReq, 3)} ms.`);
    out.push(`- CPU per streamed request (${result.request.replyWords}-word reply, paced ${result.request.mockHeaders['x-mock-chunk-delay-ms']} ms): llmobserve ${f(L.cpuMsPerStream, 3)} ms, JS passthrough ${f(J?.cpuMsPerStream, 3)} ms.`);
  }
  const i = result.internal;
  if (i) {
    out.push(`- CPU per streamed chunk (slope between ${i.chunks.streams} streams of 4 and of 64 words, unpaced): `
      + `llmobserve ${f(i.chunks.llmobserve.cpuMsPerChunk, 4)} ms, JS passthrough ${f(i.chunks.js.cpuMsPerChunk, 4)} ms`
      + `${i.chunks.jsRead ? `, JS passthrough that pumps the chunks through the worker ${f(i.chunks.jsRead.cpuMsPerChunk, 4)} ms (the runtime's own cost of a stream a worker reads: the plain passthrough's body never enters JavaScript)` : ''} `
      + `(per stream: llmobserve ${f(i.chunks.llmobserve.shortCpuMsPerStream, 3)} / ${f(i.chunks.llmobserve.longCpuMsPerStream, 3)} ms, JS ${f(i.chunks.js.shortCpuMsPerStream, 3)} / ${f(i.chunks.js.longCpuMsPerStream, 3)} ms).`);
    const t = [[`call at c=1, one after the other (medians of ${result.params.probeReps ?? 1} shuffled runs of ${result.params.probeSeconds ?? '?'} s)`, 'p50 ms', 'p99 ms', 'CPU ms/req', 'statuses']];
    const row = (name, r) => t.push([name, f(r.p50, 3), f(r.p99, 3), f(r.cpuMsPerReq, 3), Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')]);
    row('llmobserve, no key: 401 before any D1 access', i.noKey);
    row('llmobserve, valid key and a bad attribution header: 400 after the key lookup, nothing upstream', i.authThenReject);
    row('llmobserve, full gateway call (key, attribution, upstream, usage, price, event write)', i.full);
    row('JS passthrough (Miniflare), for comparison', i.jsFull);
    if (i.direct) t.push(['direct to the mock', f(i.direct.p50, 3), f(i.direct.p99, 3), '–', Object.entries(i.direct.statuses).map(([st, n]) => `${st}: ${n}`).join(', ')]);
    out.push('- The cost of each step, from requests that stop at it:', '', md(t), '');
    out.push(`  Authentication (key lookup) ≈ ${f(i.authThenReject.p50 - i.noKey.p50, 3)} ms at p50 and ${f(i.authThenReject.cpuMsPerReq - i.noKey.cpuMsPerReq, 3)} ms of CPU; `
      + `upstream call, usage, pricing and the event write ≈ ${f(i.full.cpuMsPerReq - i.authThenReject.cpuMsPerReq, 3)} ms of CPU more `
      + `(pricing itself is integer arithmetic in core and cannot be told apart from outside the worker).`);
    const st = i.serverTiming;
    out.push(`- Server-Timing \`llmobserve;dur\` (the gateway's own wall time as it reports it, whole ms: Workers clocks move only across I/O) over ${st.n} sequential calls: `
      + `p50 ${f(st.ownP50, 0)} ms, p90 ${f(st.ownP90, 0)} ms, max ${f(st.ownMax, 0)} ms, mean ${f(st.ownMean, 2)} ms; upstream p50 ${f(st.upstreamP50, 0)} ms. Example header: \`${st.header}\`.`);
  }
  for (const [id, e] of Object.entries(result.eventsByTarget ?? {})) {
    out.push(`- Events recorded by ${id} during the rounds: ${e.calls} for ${e.sent} calls sent (${e.priced} priced).`);
  }
  return out;
}

/** Added p50 at c=32 per ms of CPU per request, for the Workers on Miniflare: about equal
 * when each is bound by its CPU (one workerd thread serving every client). */
export function cpuBound(rows) {
  const names = [['js', 'JS passthrough'], ['js-read', 'JS that reads what it prices'], ['wasm', 'Rust/wasm passthrough'], ['llmobserve', 'llmobserve']];
  return names.filter(([id]) => rows[id]?.cpuMsPerReq > 0).map(([id, name]) => [name, rows[id].added.c32.p50 / rows[id].cpuMsPerReq]);
}

/** `a / b` as `1.23x`, or – when there is no ratio. */
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${f(a / b)}x` : '–');

/** A few sentences computed from the figures: what the table says about llmobserve. */
function summary(result) {
  const r = result.rows ?? {}; const L = r.llmobserve; const J = r.js; const i = result.internal;
  if (!L || !J) return [];
  const out = [];
  out.push(`- llmobserve adds ${f(L.added.c1.p50)} ms at p50 with one client and ${f(L.added.c32.p50, 0)} ms with 32; the JS passthrough on the same runtime adds ${f(J.added.c1.p50)} and ${f(J.added.c32.p50, 1)} ms. `
    + `It serves ${f(L.rps32, 0)} requests/s at c=32 against the floor's ${f(J.rps32, 0)}, at ${f(L.cpuMsPerReq)} ms of CPU per request against ${f(J.cpuMsPerReq)}.`);
  const W = r.wasm; const R = r['js-read'];
  if (W || R) {
    const floors = [];
    if (W) floors.push(`a Rust/wasm Worker that only forwards (\`bench/workers/wasm-passthrough\`: workers-rs, the runtime's own request and response) adds ${f(W.added.c1.p50)} ms (c=1) and ${f(W.added.c32.p50, 1)} ms (c=32), ${ratio(W.added.c1.p50, J.added.c1.p50)} and ${ratio(W.added.c32.p50, J.added.c32.p50)} the JS passthrough, at ${f(W.cpuMsPerReq)} ms of CPU per request`);
    if (R) floors.push(`a JS Worker that reads what a pricing gateway must (\`bench/workers/passthrough-read.mjs\`: both JSON bodies whole, a stream chunk by chunk) adds ${f(R.added.c1.p50)} ms and ${f(R.added.c32.p50, 1)} ms, at ${f(R.cpuMsPerReq)} ms of CPU; against it llmobserve's added p50 is ${ratio(L.added.c1.p50, R.added.c1.p50)} (c=1) and ${ratio(L.added.c32.p50, R.added.c32.p50)} (c=32)`);
    out.push(`- Two more floors on the same runtime: ${floors.join('; ')}.`);
  }
  const D1 = r['js-d1'];
  if (D1) {
    const most = D1.added.c1.p50 >= L.added.c1.p50 / 2 ? 'Much of that is the local D1' : 'The local D1\'s share';
    out.push(`- ${most} (a Durable Object with SQLite inside the same workerd process: its CPU counts here, in production D1 runs elsewhere): `
      + `a plain JS worker that does llmobserve's D1 work per call, unbatched (\`bench/workers/passthrough-d1.mjs\`: the key cached for 30 s; after the response, one D1 batch with the event insert and the retry-chain lookup) `
      + `adds ${f(D1.added.c1.p50)} ms at p50 (c=1) and ${f(D1.added.c32.p50, 0)} ms (c=32), serves ${f(D1.rps32, 0)} requests/s and uses ${f(D1.cpuMsPerReq)} ms of CPU per request. `
      + `llmobserve, which batches the writes of calls close together, ${L.cpuMsPerReq < D1.cpuMsPerReq ? `uses ${f(D1.cpuMsPerReq - L.cpuMsPerReq)} ms less CPU per request than that` : `uses ${f(L.cpuMsPerReq - D1.cpuMsPerReq)} ms more CPU per request: its own work`}.`);
  }
  if (i?.noKey && i?.authThenReject) {
    out.push(`- A call rejected just after its key is looked up takes ${f(i.authThenReject.p50 - i.noKey.p50)} ms longer than one rejected before the lookup (p50, c=1).`);
  }
  const bound = cpuBound(r);
  if (bound.length > 1) {
    out.push(`- At c=32 the Workers here are bound by CPU: added p50 per ms of CPU per request is ${bound.map(([name, k]) => `${f(k, 1)} (${name})`).join(', ')}, `
      + 'one workerd thread taking 32 clients in turn. So at c=32 the added-p50 ratio follows the CPU ratio: '
      + `llmobserve / JS passthrough is ${ratio(L.added.c32.p50, J.added.c32.p50)} in added p50 and ${ratio(L.cpuMsPerReq, J.cpuMsPerReq)} in CPU.`);
  }
  const peers = [['portkey', 'Portkey'], ['litellm', 'LiteLLM']].filter(([id]) => r[id]).map(([id, name]) => `${name} adds ${f(r[id].added.c1.p50)} ms (c=1) and ${f(r[id].added.c32.p50, 0)} ms (c=32)`);
  if (peers.length) out.push(`- At p50, ${peers.join('; ')}.`);
  out.push(`- Streaming: llmobserve adds ${f(L.added.ttfb)} ms to the first byte (JS passthrough ${f(J.added.ttfb)} ms) and holds back ${f(L.heldBack, 0)} chunks`
    + `${r.portkey ? `; Portkey holds back ${f(r.portkey.heldBack, 0)}` : ''}${r.litellm ? `, LiteLLM ${f(r.litellm.heldBack, 0)}` : ''}.`);
  return out;
}

export function renderConsole(result) {
  const out = [`\n${SECTION}: profile ${result.profile}, ${result.params.rounds} round(s), medians across rounds; added = target minus direct in the same round, ms\n`];
  out.push(text(mainTable(result)), samplesLine(result), '');
  out.push(text(checksTable(result)), '');
  out.push(...internalLines(result).map((l) => l.replace(/`/g, '')), '');
  out.push(`machine: ${result.machine.nproc} cores, ${result.machine.cpuModel}; load average at start ${result.machine.loadavgAtStart.join(' ')}; other work used ${f(result.machine.otherCores)} cores on average during the run; ${f(result.wallSeconds, 0)} s (with setup ${f(result.totalSeconds, 0)} s)`);
  return out.join('\n');
}

export function renderMarkdown(result) {
  const m = result.machine; const v = result.versions; const P = result.params;
  const quiet = (m.otherCores ?? 0) < 0.15 && m.loadavgAtStart[0] < m.nproc * 0.5;
  const lines = [
    BEGIN,
    '',
    `Run \`make bench\` (or \`bench/run.sh\`; \`bench/run.sh --quick\` for one short round). It installs what it needs, builds the release mock upstream and the worker, `
    + `runs every target in ${P.rounds} rounds whose order is shuffled each round, prints this table and rewrites this section. Raw results of every run are kept in \`bench/results/\` (not committed).`,
    '',
    `Last run: ${result.startedAt}, profile \`${result.profile}\`, seed ${result.seed}, llmobserve \`${v.llmobserve}\`, ${f(result.totalSeconds / 60, 1)} min in all (${f(result.wallSeconds / 60, 1)} min measuring).`,
    '',
    quiet
      ? `> The machine was quiet: load average ${m.loadavgAtStart.join(' ')} at the start, and work other than the benchmark's used ${f(m.otherCores)} of its ${m.nproc} cores on average.`
      : `> **Noisy run.** Work other than the benchmark's used ${f(m.otherCores)} of the machine's ${m.nproc} cores on average while it ran (load average ${m.loadavgAtStart.join(' ')} at the start). `
        + 'Absolute figures, and the tails above all, are inflated; ratios within the run are the more trustworthy part. Rerun on a quiet machine for figures to quote.',
    '',
    '### In short',
    '',
    ...summary(result),
    '',
    '### Added latency, throughput, CPU and memory',
    '',
    'Milliseconds, medians across rounds. Added = the target minus direct to the mock, percentile by percentile, in the same round. '
    + 'The direct row gives absolute figures. CPU and memory are those of the target\'s whole process tree (for the Miniflare targets: workerd and the Miniflare host process; for direct: the mock).',
    '',
    md(mainTable(result)),
    '',
    samplesLine(result),
    '',
    '### The issue\'s targets, as ratios within this run',
    '',
    md(checksTable(result)),
    '',
    '### Worker-internal figures',
    '',
    ...internalLines(result),
    '',
    '### Method',
    '',
    `- Upstream: \`tests/mock-openai\`, release build, on 127.0.0.1 (one thread). Every target is asked for \`${result.request.model}\` with the same body and gets the same reply `
    + `(\`x-mock-reply\`, ${result.request.replyWords} words) from the mock; the harness checks that reply through every target before measuring.`,
    '- Targets, each on 127.0.0.1 in its own process tree:',
    '  - **direct**: the client calls the mock itself. The baseline that every added figure subtracts.',
    '  - **JS passthrough (Miniflare)**: `bench/workers/passthrough.mjs`, a plain Worker that forwards the request and returns the response, both as streams. '
    + 'The platform floor, on the same runtime as llmobserve. **The ratios compare llmobserve with this row.**',
    '  - **JS passthrough that reads what it prices**: `bench/workers/passthrough-read.mjs`, the passthrough plus what any gateway that prices calls must do: read the request body whole, read a JSON answer whole and send it on as bytes, '
    + 'and pump an event stream chunk by chunk through the worker into the client\'s body. No parsing, no storage.',
    '  - **Rust/wasm passthrough**: `bench/workers/wasm-passthrough`, a workers-rs Worker (the same workers-rs and wasm-bindgen as llmobserve) that calls `fetch(url, request)` with the runtime\'s own request and returns its response: '
    + 'what the Rust/wasm stack costs before any work of its own.',
    '  - **JS passthrough (bare workerd)**: the same script under `workerd serve` with a generated config, for reference: the gap to the row above is what Miniflare\'s own setup adds.',
    '  - **JS passthrough + llmobserve\'s D1 statements**: `bench/workers/passthrough-d1.mjs`, the passthrough plus, per call, the key lookup before forwarding and the retry lookup and event insert after the response (waitUntil), '
    + 'against llmobserve\'s schema on the same kind of local D1: what the local D1 costs, apart from llmobserve\'s own work. Keep its statements in step with `worker/src/store.rs`.',
    `  - **llmobserve**: \`worker/build\` (release wasm) with a local D1 ${result.d1 ?? 'on disk'} (the migrations applied; \`BENCH_D1_PERSIST=memory\` keeps it in memory), managed key mode (its own upstream key), `
    + 'a gateway key in `Authorization` and tenant, customer, section and run-id headers: authentication, attribution, usage extraction, pricing and the event write all run; '
    + 'the harness checks afterwards that every call was recorded and priced. '
    + 'The dashboard\'s assets binding is left out: it is not on the gateway path, and with it Miniflare would put its asset router in front of every request.',
    '  - Runtime of the Worker rows: workerd. The Miniflare rows run under Miniflare\'s API (the engine under `wrangler dev`, without wrangler\'s proxy worker, its Node hop and its inspector), '
    + 'each worker on a socket of its own (`unsafeDirectSockets`), so that requests reach the worker the way `workerd serve` delivers them rather than through Miniflare\'s entry worker '
    + '(which costs about 0.5 ms of CPU per request on this machine). Miniflare\'s Node process is in the measured process tree; it does no work per request.',
    `  - **Portkey**: npm \`@portkey-ai/gateway\` ${v.portkey ?? ''} on Node with \`@hono/node-server\` ${v.honoNodeServer ?? ''} (pinned 1.13.x: newer versions break its streaming), `
    + 'bound to 127.0.0.1 by `bench/peers/portkey-loopback.mjs`, routed to the mock with `x-portkey-provider: openai` and `x-portkey-custom-host`; the `x-mock-*` headers reach the mock through `x-portkey-forward-headers`.',
    `  - **LiteLLM**: PyPI \`litellm[proxy]\` ${v.litellm ?? ''}, one uvicorn worker, a master key, no database, \`LITELLM_LOCAL_MODEL_COST_MAP=True\`; the model points at the mock with \`api_base\`, and the \`x-mock-*\` headers come from \`extra_headers\` in its config.`,
    `- Non-streamed chat: [oha](https://crates.io/crates/oha) ${v.oha ?? ''}, closed loop, keep-alive, after ${100} unrecorded warm-up requests: `
    + (P.c1Seconds ? `${P.c1Seconds} s at concurrency 1, then ${P.c32Seconds} s at concurrency 32 per target and round (fixed time, not a fixed count, so that a slow target cannot stretch the run; requests in flight at the deadline are waited for and counted). `
      : `${P.n1} requests at concurrency 1, then ${P.n32} at concurrency 32 per target and round. `)
    + 'Throughput is that of the c=32 phase.',
    `- Streamed chat: \`bench/lib/stream-client.mjs\`, up to ${P.streams} sequential requests per target and round (at least ${P.minStreams}, otherwise as many as fit in ${P.streamSeconds} s) on one keep-alive connection, `
    + `the mock pacing its SSE events ${result.request.mockHeaders['x-mock-chunk-delay-ms']} ms apart. `
    + 'TTFB is the first body byte; total is the end of the body. A chunk is *held back* when, at its position in the stream, the median request got it less than half a pacing interval after the chunk before it '
    + '(it was sent a full interval later, so the target kept it until the next one came); a busy machine also lumps chunks together, but at random positions, which the median leaves out. '
    + 'The lag is how much later than direct the slowest chunk arrives, beyond the first.',
    '- CPU per request: user + system time of the target\'s process tree from `/proc/<pid>/stat` (children included) over the c=32 phase, once the tree has stopped using CPU '
    + '(llmobserve writes events after the response), divided by the requests. Peak memory: the sum of VmHWM over the tree at the end of the run.',
    `- Rounds: ${P.rounds}; the order of the targets is shuffled each round (seeded, the seed is above); every figure is the median across rounds, and each ratio is taken between medians of this same run. `
    + 'The client, the load tool, the mock and the target share the machine\'s cores.',
    '',
    '### Machine and versions',
    '',
    `- ${m.nproc} cores, ${m.cpuModel}, ${f(m.memGiB, 0)} GiB memory, Linux ${m.kernel}; load average ${m.loadavgAtStart.join(' ')} at the start, ${m.loadavgAtEnd.join(' ')} at the end.`,
    `- Node ${v.node}; workerd ${v.workerd}; miniflare ${v.miniflare} (from wrangler ${v.wrangler}); ${v.rustc}; oha ${v.oha}; `
    + `LiteLLM ${v.litellm ?? 'not installed'} (${v.python ?? ''}); Portkey gateway ${v.portkey ?? 'not installed'} with @hono/node-server ${v.honoNodeServer ?? '–'}.`,
    '',
    END,
  ];
  return lines.join('\n');
}

/** Puts `body` under the section's heading, replacing what an earlier run wrote there and nothing else. */
export function writeSection(path, body) {
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const b = doc.indexOf(BEGIN); const e = doc.indexOf(END);
  if (b >= 0 && e > b) {
    doc = doc.slice(0, b) + body + doc.slice(e + END.length);
  } else if (doc.includes(`## ${SECTION}`)) {
    const at = doc.indexOf('\n', doc.indexOf(`## ${SECTION}`)) + 1;
    doc = `${doc.slice(0, at)}\n${body}\n${doc.slice(at)}`;
  } else {
    doc = `${doc.replace(/\n*$/, '\n')}\n## ${SECTION}\n\n${body}\n`;
  }
  writeFileSync(path, doc);
}
