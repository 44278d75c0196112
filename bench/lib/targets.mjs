// Starting and stopping the benchmark's targets. Every target listens on 127.0.0.1 and
// answers OpenAI's POST /v1/chat/completions by calling the same mock upstream. Each
// runs in its own process group, started here and stopped here by its id.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BENCH = join(ROOT, 'bench');
const WORKERD = join(ROOT, 'node_modules/@cloudflare/workerd-linux-64/bin/workerd');
const MOCK = join(ROOT, 'target/release/mock-openai');
const UPSTREAM_KEY = 'sk-bench-upstream';

/** Headers that steer the mock: the same reply and chunk pacing, whoever forwards them. */
export const MOCK_HEADERS = {
  'x-mock-reply': 'The quick brown fox jumps over the lazy dog',
  'x-mock-chunk-delay-ms': '5',
};
export const REPLY_WORDS = MOCK_HEADERS['x-mock-reply'].split(' ').length;

export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Every process group started here and not yet exited, for `killAll`. */
const running = new Set();

/** Ends every process group started here (the harness was interrupted). */
export function killAll() {
  for (const child of running) {
    try { child.stdin.end(); } catch {}
    try { process.kill(-child.pid, 'SIGTERM'); } catch {}
  }
}

function spawnGroup(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.output = '';
  const keep = (d) => { child.output = (child.output + d).slice(-20000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return child;
}

export function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.once('exit', res);
    try { process.kill(-child.pid, 'SIGTERM'); } catch { res(); }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000).unref();
  });
}

async function waitFor(what, child, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {}
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${child.output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready in ${timeoutMs / 1000} s:\n${child.output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function firstJsonLine(what, child, timeoutMs) {
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`${what} did not start in ${timeoutMs / 1000} s:\n${child.output.slice(-3000)}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').slice(0, -1).find((l) => l.startsWith('{"url"'));
      if (line) { clearTimeout(timer); res(JSON.parse(line)); }
    });
    child.on('exit', (code) => { clearTimeout(timer); rej(new Error(`${what} exited (${code}):\n${child.output.slice(-3000)}`)); });
  });
}

export async function startMock() {
  const child = spawnGroup(MOCK, ['--port', '0']);
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`mock-openai did not start:\n${child.output}`)), 10000);
    child.stdout.on('data', () => {
      const m = child.output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); res(m[1]); }
    });
    child.on('exit', (code) => rej(new Error(`mock-openai exited (${code}):\n${child.output}`)));
  });
  return {
    url, pid: child.pid,
    /** The mock records every request; clear it so that its memory stays flat. */
    reset: () => fetch(`${url}/__mock/reset`, { method: 'POST' }).then((r) => r.arrayBuffer()),
    stop: () => stopGroup(child),
  };
}

/** llmobserve or the JS passthrough under Miniflare's API, in a host process of its own. */
export async function startMiniflare(kind, upstream, extra = {}) {
  const child = spawnGroup(process.execPath, [join(BENCH, 'lib/miniflare-host.mjs'), JSON.stringify({ kind, upstream, ...extra })],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  const info = await firstJsonLine(`Miniflare (${kind})`, child, 120000);
  // Closing its stdin makes the host dispose of Miniflare and wait for workerd (Miniflare
  // answers SIGTERM by exiting at once, leaving workerd to init and its CPU time uncounted).
  const stop = () => new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', res);
    child.stdin.end();
    setTimeout(() => stopGroup(child), 15000).unref();
  });
  return { ...info, pid: child.pid, logs: () => child.output, stop };
}

/** The JS passthrough under bare `workerd serve` with a generated config. */
export async function startWorkerd(upstream) {
  const dir = mkdtempSync(join(tmpdir(), 'llmobserve-bench-workerd-'));
  const port = await freePort();
  writeFileSync(join(dir, 'passthrough.mjs'), readFileSync(join(BENCH, 'workers/passthrough.mjs')));
  const compat = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').match(/^compatibility_date\s*=\s*"([^"]+)"/m)[1];
  writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .passthrough),
    (name = "upstream", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const passthrough :Workerd.Worker = (
  modules = [ (name = "passthrough.mjs", esModule = embed "passthrough.mjs") ],
  compatibilityDate = "${compat}",
  bindings = [ (name = "UPSTREAM", text = "${upstream}") ],
  globalOutbound = "upstream",
);
`);
  const t0 = performance.now();
  const child = spawnGroup(WORKERD, ['serve', join(dir, 'config.capnp')], { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('workerd', child, async () => (await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-bench' } })).status === 200, 30000);
  const readyMs = performance.now() - t0;
  return {
    url, pid: child.pid, timings: { readyToFirstResponseMs: readyMs },
    logs: () => child.output,
    stop: async () => { await stopGroup(child); rmSync(dir, { recursive: true, force: true }); },
  };
}

export const LITELLM = join(BENCH, '.venv/bin/litellm');
export const PORTKEY = join(BENCH, 'peers/node_modules/@portkey-ai/gateway/build/start-server.js');

/** LiteLLM's proxy (PyPI litellm[proxy]), one uvicorn worker, no database. */
export async function startLiteLLM(upstream) {
  if (!existsSync(LITELLM)) throw new Error('bench/.venv has no litellm (its install failed; see bench/run.sh output)');
  const dir = mkdtempSync(join(tmpdir(), 'llmobserve-bench-litellm-'));
  const port = await freePort();
  const master = 'sk-bench-litellm-master';
  const extra = Object.entries(MOCK_HEADERS).map(([k, v]) => `        ${k}: "${v}"`).join('\n');
  writeFileSync(join(dir, 'config.yaml'), `model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream}/v1
      api_key: ${UPSTREAM_KEY}
      extra_headers:
${extra}
general_settings:
  master_key: ${master}
litellm_settings:
  telemetry: false
`);
  const child = spawnGroup(LITELLM, ['--config', join(dir, 'config.yaml'), '--host', '127.0.0.1', '--port', String(port), '--num_workers', '1'], {
    cwd: dir,
    env: {
      ...process.env, LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_TELEMETRY: 'False',
      LITELLM_LOG: 'ERROR', DISABLE_SCHEMA_UPDATE: 'True', NO_DOCS: 'True',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('LiteLLM', child, async () => (await fetch(`${url}/health/liveliness`)).status === 200, 300000);
  return {
    url, pid: child.pid, headers: { authorization: `Bearer ${master}` },
    logs: () => child.output,
    stop: async () => { await stopGroup(child); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Portkey's gateway (npm @portkey-ai/gateway) on Node, routed to the mock by its headers. */
export async function startPortkey(upstream) {
  if (!existsSync(PORTKEY)) throw new Error('bench/peers has no @portkey-ai/gateway (its install failed; see bench/run.sh output)');
  const port = await freePort();
  const child = spawnGroup(process.execPath, [join(BENCH, 'peers/portkey-loopback.mjs'), `--port=${port}`, '--headless'], {
    cwd: join(BENCH, 'peers'), env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Portkey', child, async () => (await fetch(`${url}/`)).status < 500, 60000);
  return {
    url, pid: child.pid,
    headers: {
      authorization: `Bearer ${UPSTREAM_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream}/v1`,
      'x-portkey-forward-headers': Object.keys(MOCK_HEADERS).join(','),
    },
    logs: () => child.output,
    stop: () => stopGroup(child),
  };
}
