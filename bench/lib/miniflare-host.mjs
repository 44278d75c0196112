// Hosts one worker under Miniflare's API (workerd underneath, no wrangler dev, no
// inspector) on 127.0.0.1 and keeps it up until its stdin closes. Run as its own process
// so that its CPU and memory can be measured apart from the harness.
//
//   node miniflare-host.mjs '<json spec>'
//   spec: { kind: "passthrough" | "passthrough-read" | "passthrough-d1" | "wasm-passthrough" | "llmobserve",
//           upstream: "http://127.0.0.1:N", port?: number,
//           scriptPath?: another worker build's index.js, for llmobserve (bench.mjs --baseline) }
//   BENCH_D1_PERSIST=memory keeps D1 in memory instead of on disk.
//
// The worker listens on its own socket (Miniflare's `unsafeDirectSockets`), not behind
// Miniflare's entry worker. Prints one JSON line on stdout when ready:
//   { url, adminToken?, key?, workerdPid, timings: { readyMs, firstResponseMs } }
// readyMs: from `new Miniflare()` to the socket accepting (workerd started, scripts and
// wasm compiled); firstResponseMs: the first request the worker answers after that.
import { Miniflare } from 'miniflare';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { tree, comm } from './proc.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const spec = JSON.parse(process.argv[2]);
const WRANGLER_TOML = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
const COMPAT_DATE = WRANGLER_TOML.match(/^compatibility_date\s*=\s*"([^"]+)"/m)[1];
// llmobserve runs with the flags it is deployed with (`enable_request_signal`: the client's
// disconnect aborts upstream); the floors need none.
const COMPAT_FLAGS = JSON.parse(WRANGLER_TOML.match(/^compatibility_flags\s*=\s*(\[[^\]]*\])/m)?.[1] ?? '[]');

/** Splits a migration file into statements: `;` outside quotes ends one, `--` starts a comment. */
export function sqlStatements(sql) {
  const out = [];
  let cur = '';
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      const stop = end < 0 ? sql.length : end;
      cur += sql.slice(i, stop + 1);
      i = stop;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl - 1;
    } else if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
const state = mkdtempSync(join(tmpdir(), 'llmobserve-bench-'));
const common = {
  host: '127.0.0.1',
  port: 0,
  // A socket straight to the worker, as `workerd serve` would have it: requests to
  // Miniflare's main URL go through its entry worker first (an extra worker invocation,
  // about 0.7 ms of CPU each here), which production does not have.
  unsafeDirectSockets: [{ host: '127.0.0.1', port: spec.port ?? 0 }],
  compatibilityDate: COMPAT_DATE,
  modules: true,
  // bench/profile.mjs attaches Chrome DevTools' CPU profiler here.
  ...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
};
// A worker-build output: index.js (ES modules) and its compiled wasm.
const WASM_WORKER_MODULES = [
  { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
  { type: 'CompiledWasm', include: ['**/*.wasm'] },
];
// On disk by default, like `wrangler dev --persist-to`.
const localD1 = {
  d1Databases: { DB: 'llmobserve-bench' },
  d1Persist: process.env.BENCH_D1_PERSIST === 'memory' ? false : join(state, 'd1'),
};
const toUpstream = { bindings: { UPSTREAM: spec.upstream } };
const WORKERS = {
  llmobserve: {
    scriptPath: spec.scriptPath ?? join(ROOT, 'worker/build/index.js'),
    modulesRules: WASM_WORKER_MODULES,
    compatibilityFlags: COMPAT_FLAGS,
    ...localD1,
    bindings: {
      OPENAI_BASE_URL: spec.upstream,
      OPENAI_API_KEY: 'sk-bench-upstream-managed',
      LLMOBSERVE_ADMIN_TOKEN: adminToken,
      EVENT_WRITE_MODE: spec.writeMode ?? 'queue',
      ...(process.env.EVENT_BATCH_MS ? { EVENT_BATCH_MS: process.env.EVENT_BATCH_MS } : {}),
    },
    // The queues of wrangler.toml, with the same consumer settings.
    queueProducers: { EVENTS_QUEUE: 'llmobserve-events' },
    queueConsumers: {
      'llmobserve-events': { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 10, deadLetterQueue: 'llmobserve-events-dlq' },
      'llmobserve-events-dlq': { maxBatchSize: 100, maxBatchTimeout: 5, maxRetries: 100 },
    },
  },
  passthrough: { scriptPath: join(ROOT, 'bench/workers/passthrough.mjs'), ...toUpstream },
  'passthrough-read': { scriptPath: join(ROOT, 'bench/workers/passthrough-read.mjs'), ...toUpstream },
  'passthrough-d1': { scriptPath: join(ROOT, 'bench/workers/passthrough-d1.mjs'), ...localD1, ...toUpstream },
  'wasm-passthrough': {
    scriptPath: join(ROOT, 'bench/workers/wasm-passthrough/build/index.js'),
    modulesRules: WASM_WORKER_MODULES,
    ...toUpstream,
  },
};
if (!WORKERS[spec.kind]) throw new Error(`unknown kind ${JSON.stringify(spec.kind)}: one of ${Object.keys(WORKERS).join(', ')}`);
const options = { ...common, ...WORKERS[spec.kind] };

const t0 = performance.now();
const mf = new Miniflare(options);
await mf.ready;
const url = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, '');
const readyMs = performance.now() - t0;

let key;
let firstResponseMs;
if (options.d1Databases) {
  // The schema, applied the way `wrangler d1 migrations apply` would: every file in order.
  const db = await mf.getD1Database('DB');
  const files = readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).sort();
  for (const f of files) {
    for (const stmt of sqlStatements(readFileSync(join(ROOT, 'migrations', f), 'utf8'))) {
      await db.prepare(stmt).run();
    }
  }
  if (spec.kind === 'passthrough-d1') {
    await db.prepare("INSERT INTO api_keys (id, key_hash, name, scopes, created_at) VALUES ('key_bench', 'bench-key-hash', 'bench', 'ingest', 0)").run();
  }
}
if (spec.kind === 'llmobserve') {
  // The worker's first request: an admin call that writes D1 (a key for the benchmark).
  const t1 = performance.now();
  const r = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['ingest', 'read'] }),
  });
  const body = await r.text();
  firstResponseMs = performance.now() - t1;
  if (r.status !== 201) throw new Error(`POST /admin/keys: ${r.status} ${body}`);
  key = JSON.parse(body).key;
} else {
  const t1 = performance.now();
  const r = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-bench' } });
  await r.arrayBuffer();
  firstResponseMs = performance.now() - t1;
  if (r.status !== 200) throw new Error(`passthrough first request: ${r.status}`);
}

const workerdPid = tree(process.pid).find((pid) => pid !== process.pid && comm(pid) === 'workerd') ?? null;
process.stdout.write(`${JSON.stringify({ url, adminToken, key, workerdPid, timings: { readyMs, firstResponseMs } })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await mf.dispose();
    // Wait until workerd has been reaped (its /proc entry gone), so that its CPU time
    // is added to ours and to the harness's, rather than lost to init.
    for (let i = 0; workerdPid && i < 50 && existsSync(`/proc/${workerdPid}`); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The harness holds our stdin: when it goes away (even killed), so do we.
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
