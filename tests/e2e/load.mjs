// The load and reconciliation run of docs/delivery.md, shared by the e2e test
// (delivery.test.mjs, a few thousand calls) and the bigger bench run (bench/delivery.mjs).
//
// Many concurrent clients send mixed chat calls (plain, streamed, streams the client
// aborts before the first byte or mid-way, streams upstream drops, 429s, 5xx, garbage,
// JSON bodies cut short) while D1 event writes fail for a while (fault injection) and,
// in queue mode, every queue message is delivered twice. Then the mock upstream's own
// ledger (every call it received, and the usage it billed) is reconciled with the rows
// in D1, event for event and nano-USD for nano-USD, by an independent price oracle.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { prng } from './oracle.mjs';
import { d1Files } from './d1.mjs';

const run = promisify(execFile);

// gpt-4o-mini, nano-USD per token (= USD per 1M tokens x 1000) from OpenAI's price list.
export const PRICE = { input: 150n, cached: 75n, output: 600n };

/** The independent oracle: what a call the mock billed costs, in nano-USD. */
export function oracleNanos(u) {
  const cached = BigInt(u.cached_tokens);
  return (BigInt(u.prompt_tokens) - cached) * PRICE.input + cached * PRICE.cached + BigInt(u.completion_tokens) * PRICE.output;
}

// Kinds of call, with weights out of 100.
const KINDS = [
  ['json', 30], ['stream', 18], ['stream_hidden_usage', 10], ['rate_limited', 10], ['server_error', 4],
  ['abort_mid_stream', 7], ['abort_before_first_byte', 5], ['upstream_drops_stream', 6], ['upstream_cuts_json', 3],
  ['garbage_json', 3], ['garbage_stream', 2], ['json_cached', 2],
];

function pickKind(r) {
  let x = r.int(0, 99);
  for (const [k, w] of KINDS) { if (x < w) return k; x -= w; }
  return 'json';
}

/** The call plan: deterministic from the seed. */
export function plan(n, seed) {
  const r = prng(seed);
  return Array.from({ length: n }, (_, i) => ({
    i, kind: pickKind(r), prompt: r.int(5, 3000), completion: r.int(1, 400), cached: r.int(0, 4),
  }));
}

async function drain(body, abortAfterFirst, controller) {
  const reader = body.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) return 'done';
    if (abortAfterFirst) { controller.abort(); return 'aborted'; }
  }
}

/** Sends one call; resolves to what the client saw (never throws). */
async function send(url, key, tenant, c) {
  const stream = ['stream', 'stream_hidden_usage', 'abort_mid_stream', 'upstream_drops_stream', 'garbage_stream'].includes(c.kind);
  const headers = {
    authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-llmobserve-tenant': tenant,
    'x-llmobserve-property-call': String(c.i),
    'x-mock-prompt-tokens': String(c.prompt), 'x-mock-completion-tokens': String(c.completion),
  };
  if (c.kind === 'json_cached') headers['x-mock-cached-tokens'] = String(Math.min(c.cached * 100, c.prompt));
  if (c.kind === 'rate_limited') headers['x-mock-status'] = '429';
  if (c.kind === 'server_error') headers['x-mock-status'] = '500';
  if (c.kind === 'abort_mid_stream') Object.assign(headers, { 'x-mock-stream-chunks': '40', 'x-mock-chunk-delay-ms': '15' });
  if (c.kind === 'abort_before_first_byte') headers['x-mock-latency-ms'] = '400';
  if (c.kind === 'upstream_drops_stream') headers['x-mock-drop-after'] = '3';
  if (c.kind === 'upstream_cuts_json') headers['x-mock-drop-after'] = '40';
  if (c.kind.startsWith('garbage')) headers['x-mock-garbage'] = '1';
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${tenant} call ${c.i}` }] };
  if (stream) body.stream = true;
  if (c.kind === 'stream') body.stream_options = { include_usage: true };
  const controller = new AbortController();
  let timer;
  if (c.kind === 'abort_before_first_byte') timer = setTimeout(() => controller.abort(), 100);
  try {
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
    const eventId = res.headers.get('x-llmobserve-event-id');
    const end = await drain(res.body, c.kind === 'abort_mid_stream', controller).catch(() => 'broken');
    return { status: res.status, eventId, end };
  } catch (e) {
    return { status: 0, end: e.name === 'AbortError' ? 'aborted' : `error: ${e.message}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the plan with `concurrency` clients. `faults(done, total)` is called after each
 * call completes, to inject faults at chosen points. Returns the client-side results.
 */
export async function runLoad({ url, key, tenant, calls, concurrency, onProgress }) {
  const results = new Array(calls.length);
  let next = 0;
  let done = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (i >= calls.length) return;
      results[i] = await send(url, key, tenant, calls[i]);
      done++;
      if (onProgress) await onProgress(done, calls.length);
    }
  }));
  return { results, seconds: (Date.now() - started) / 1000 };
}

/** The tenant's events, straight from the local D1 file (read-only). */
export async function storedEvents(stateDir, tenant) {
  const files = (await d1Files(stateDir)).filter((f) => !f.includes('metadata'));
  const py = `
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
db.row_factory = sqlite3.Row
rows = db.execute("SELECT id, upstream_request_id, status_code, outcome, usage_source, input_tokens, cached_input_tokens, output_tokens, cost_nanousd, properties, attempt, is_retry, retry_of FROM events WHERE tenant_id = ?", (sys.argv[2],)).fetchall()
print(json.dumps([dict(r) for r in rows]))
`;
  const { stdout } = await run('python3', ['-c', py, files[0], tenant], { maxBuffer: 1 << 28 });
  return JSON.parse(stdout);
}

/** The mock's recorded calls of one load run (its bodies name the tenant). */
export function callsOf(mockRequests, tenant) {
  return mockRequests.filter((r) => r.body.includes(`"${tenant} call `));
}

/**
 * Reconciles the mock's ledger with the stored events. `mockCalls`: the mock's recorded
 * chat calls of this run. Returns the report (counts, mismatches).
 */
export function reconcile(mockCalls, events, calls) {
  const byRequest = new Map();
  let withoutRequestId = 0;
  for (const e of events) {
    if (!e.upstream_request_id) { withoutRequestId++; continue; }
    byRequest.set(e.upstream_request_id, [...(byRequest.get(e.upstream_request_id) ?? []), e]);
  }
  const report = {
    calls_planned: calls.length, calls_sent: mockCalls.length, calls_recorded: 0, duplicates: 0, lost: 0,
    events_without_upstream_id: withoutRequestId, exact: 0, estimated: 0, no_usage: 0,
    nanos_ledger: 0n, nanos_recorded: 0n, nanos_estimated_unbilled: 0n, mismatches: [],
  };
  const seen = new Set();
  for (const m of mockCalls) {
    const rid = `req_mock_${m.seq}`;
    const found = byRequest.get(rid) ?? [];
    seen.add(rid);
    if (found.length === 0) { report.lost++; report.mismatches.push(`lost: ${rid} (${m.body.slice(0, 120)})`); continue; }
    report.calls_recorded++;
    report.duplicates += found.length - 1;
    const e = found[0];
    const i = Number(JSON.parse(e.properties ?? '{}').call);
    const kind = calls[i]?.kind;
    // A call the client aborted may still have been read whole from upstream (the gateway
    // reads upstream whatever the client does): then its usage was reported, and exact.
    const cut = ['abort_mid_stream', 'upstream_drops_stream', 'upstream_cuts_json'].includes(kind) || m.client_disconnected;
    if (m.usage && (!cut || (kind === 'abort_mid_stream' && e.usage_source === 'reported'))) {
      // The whole answer reached the gateway: tokens and cost are exact.
      report.exact++;
      const want = oracleNanos(m.usage);
      report.nanos_ledger += want;
      report.nanos_recorded += BigInt(e.cost_nanousd ?? -1);
      const ok = e.input_tokens === m.usage.prompt_tokens && e.output_tokens === m.usage.completion_tokens
        && e.cached_input_tokens === m.usage.cached_tokens && e.usage_source === 'reported' && BigInt(e.cost_nanousd ?? -1) === want;
      if (!ok) report.mismatches.push(`${rid} (${kind}): mock ${JSON.stringify(m.usage)} = ${want} nUSD; recorded ${e.input_tokens}/${e.cached_input_tokens}/${e.output_tokens} ${e.usage_source} ${e.cost_nanousd}`);
    } else if (m.usage) {
      // Cut short: the usage never reached the gateway; the event says it is an estimate.
      if (kind !== 'upstream_cuts_json' && e.usage_source === 'estimated') report.estimated++;
      else if (kind === 'upstream_cuts_json' && e.outcome === 'stream_interrupted') report.estimated++;
      else report.mismatches.push(`${rid} (${kind}): cut short but recorded ${e.outcome}/${e.usage_source}`);
    } else {
      // Upstream billed nothing (an error, or garbage). A broken stream is still estimated
      // from its request, and flagged so; nothing is ever recorded as reported usage.
      report.no_usage++;
      if (e.usage_source === 'estimated') report.nanos_estimated_unbilled += BigInt(e.cost_nanousd ?? 0);
      else if (e.usage_source === 'reported' || (e.cost_nanousd ?? 0) !== 0) report.mismatches.push(`${rid} (${kind}): billed nothing but recorded ${e.usage_source} ${e.cost_nanousd}`);
    }
  }
  for (const rid of byRequest.keys()) if (!seen.has(rid)) report.mismatches.push(`recorded but never sent upstream: ${rid}`);
  return report;
}

export function printReport(label, r, extra = {}) {
  const lines = [
    `${label}: calls sent ${r.calls_sent} (planned ${r.calls_planned}), recorded ${r.calls_recorded}, duplicates ${r.duplicates}, lost ${r.lost}`,
    `  exact tokens and cost ${r.exact}, cut short (estimated) ${r.estimated}, billed nothing ${r.no_usage}`,
    `  nano-USD of the exact calls: mock ledger ${r.nanos_ledger}, recorded ${r.nanos_recorded}; estimated for broken streams upstream billed nothing for: ${r.nanos_estimated_unbilled}`,
    ...Object.entries(extra).map(([k, v]) => `  ${k}: ${v}`),
  ];
  console.log(lines.join('\n'));
}
