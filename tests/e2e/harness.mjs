// The end-to-end harness: the mock OpenAI upstream and the real worker (wasm build under
// `wrangler dev`, i.e. workerd, with a fresh local D1), each on a free port of 127.0.0.1.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '../..');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const MOCK = join(ROOT, 'target/debug/mock-openai');
const run = promisify(execFile);

export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// Every process group this file started and has not stopped: killed when the test process
// exits, however it exits, so that a failed test never leaves a wrangler or a mock behind.
const live = new Set();
process.on('exit', () => {
  for (const child of live) { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }
});

function spawnGroup(cmd, args, opts = {}) {
  // Own process group, so that stopping kills wrangler's workerd children too.
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d; });
  child.stderr.on('data', (d) => { child.output += d; });
  return child;
}

function stopGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.once('exit', res);
    try { process.kill(-child.pid, 'SIGTERM'); } catch { res(); }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 3000).unref();
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
  }).catch(async (e) => { await stopGroup(child); throw e; });
  return {
    url,
    async requests() {
      const r = await fetch(`${url}/__mock/requests`);
      return (await r.json()).requests;
    },
    async reset() { await fetch(`${url}/__mock/reset`, { method: 'POST' }); },
    stop: () => stopGroup(child),
  };
}

/**
 * Starts the mock upstream and the worker on a fresh local D1.
 * `vars`: extra worker variables; `upstreamUrl`: point the worker somewhere else than the mock.
 * `prepare(stateDir)` runs after the migrations and before the worker starts (e.g. to seed
 * D1 with tests/e2e/d1.mjs). `stop()` fails if the upstream OpenAI key shows up in the
 * runtime's log or persisted state (`checkLeaks: false` skips that, for benchmarks with
 * gigabytes of D1). `testScheduled: true` runs `wrangler dev --test-scheduled`, so that
 * `stack.scheduled({ cron })` can run the worker's scheduled handler.
 */
export async function startStack(opts = {}) {
  // A free port can be taken between choosing it and wrangler binding it (another test's
  // workerd, say): that one failure is retried on new ports; every other failure is thrown.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/Address already in use|EADDRINUSE/.test(e.message)) throw e;
    }
  }
}

async function startStackOnce({ upstreamApiKey = 'sk-upstream-managed-key', vars = {}, upstreamUrl, prepare, checkLeaks = true, testScheduled = false, queueMaxRetries } = {}) {
  const mock = await startMock();
  const state = await mkdtemp(join(tmpdir(), 'llmobserve-e2e-'));
  let wrangler;
  // Whatever fails from here on stops what was started before it throws.
  const abandon = async (e) => {
    if (wrangler) await stopGroup(wrangler);
    await mock.stop();
    await rm(state, { recursive: true, force: true });
    throw e;
  };
  try {
    const config = queueMaxRetries === undefined ? [] : ['--config', await configWithRetries(state, queueMaxRetries)];
    return await startWorker({ mock, state, upstreamApiKey, vars, upstreamUrl, prepare, checkLeaks, testScheduled, config, spawned: (w) => { wrangler = w; } });
  } catch (e) {
    return abandon(e);
  }
}

/**
 * wrangler.toml with the events queue's `max_retries` set to `n` (so that a test reaches
 * the dead-letter queue in seconds), written into `dir` with its paths made absolute.
 */
async function configWithRetries(dir, n) {
  let toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  toml = toml.replace(/^max_retries = 10$/m, `max_retries = ${n}`)
    .replace(/^main = "(.*)"$/m, (_, p) => `main = "${join(ROOT, p)}"`)
    .replace(/^migrations_dir = "(.*)"$/m, (_, p) => `migrations_dir = "${join(ROOT, p)}"`)
    .replace(/^directory = "(.*)"$/m, (_, p) => `directory = "${join(ROOT, p)}"`);
  if (!toml.includes(`max_retries = ${n}`)) throw new Error('wrangler.toml has no "max_retries = 10" line to replace');
  const file = join(dir, 'wrangler.toml');
  await writeFile(file, toml);
  return file;
}

async function startWorker({ mock, state, upstreamApiKey, vars, upstreamUrl, prepare, checkLeaks, testScheduled, config = [], spawned }) {
  const adminToken = `test-admin-${randomBytes(16).toString('hex')}`;
  const envFile = join(state, 'secrets.env');
  await writeFile(envFile, `LLMOBSERVE_ADMIN_TOKEN=${adminToken}\nOPENAI_API_KEY=${upstreamApiKey}\n`);
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };
  await run(WRANGLER, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state, ...config], { cwd: ROOT, env });
  if (prepare) await prepare(state);
  const port = await freePort();
  const inspector = await freePort();
  const wrangler = spawnGroup(WRANGLER, [
    'dev', ...config, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', state, '--env-file', envFile, '--var', `OPENAI_BASE_URL:${upstreamUrl ?? mock.url}`,
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    '--show-interactive-dev-session=false',
    ...(testScheduled ? ['--test-scheduled'] : []),
  ], { cwd: ROOT, env });
  spawned(wrangler);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) break;
    } catch {}
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited:\n${wrangler.output}`);
    if (Date.now() > deadline) throw new Error(`worker not ready in 60 s:\n${wrangler.output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const stack = {
    url,
    mock,
    adminToken,
    upstreamApiKey,
    /** The --persist-to directory: local D1 lives under v3/d1/. */
    stateDir: state,
    logs: () => wrangler.output,
    /** A JSON request to the worker; `auth` is a bearer token. */
    async api(method, path, { auth, body, headers = {} } = {}) {
      const h = { ...headers };
      if (auth) h.authorization = `Bearer ${auth}`;
      if (body !== undefined) h['content-type'] = 'application/json';
      const r = await fetch(`${url}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: r.status, headers: r.headers, text, json };
    },
    async createKey(spec) {
      const r = await stack.api('POST', '/admin/keys', { auth: adminToken, body: spec });
      if (r.status !== 201) throw new Error(`POST /admin/keys ${r.status}: ${r.text}`);
      return r.json;
    },
    /** Polls until `pred(events)` holds for the tenant's latest events (events are written after the response). */
    async waitForEvents(tenant, pred, { timeoutMs = 30000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let last;
      for (;;) {
        last = await stack.api('GET', `/runs/latest?tenant_id=${tenant}&limit=500`, { auth: adminToken });
        if (last.status === 200 && pred(last.json.data)) return last.json.data;
        if (Date.now() > deadline) throw new Error(`events of ${tenant} not as expected: ${last.text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /**
     * Runs the worker's scheduled handler once (needs `testScheduled`) through wrangler's
     * `/__scheduled?cron=`, as if the trigger `cron` fired now, and waits for it to end.
     * (wrangler dev's `/__scheduled` has no way to set the time; its
     * `/cdn-cgi/handler/scheduled?time=` answers "exception" for a workers-rs worker.)
     */
    async scheduled({ cron = '7 * * * *' } = {}) {
      const r = await fetch(`${url}/__scheduled?${new URLSearchParams({ cron })}`);
      return { status: r.status, text: await r.text() };
    },
    /** Where the upstream OpenAI key shows up in the runtime's log or persisted state (it never should). */
    async leaks() {
      const found = [];
      if (wrangler.output.includes(upstreamApiKey)) found.push('wrangler/workerd log');
      const walk = async (dir) => {
        for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else if ((await readFile(p).catch(() => Buffer.alloc(0))).includes(upstreamApiKey)) found.push(p);
        }
      };
      await walk(join(state, 'v3'));
      return found;
    },
    /** Stops everything; fails if the upstream OpenAI key leaked into the log or D1. */
    async stop() {
      await stopGroup(wrangler);
      const leaked = checkLeaks ? await stack.leaks() : [];
      await mock.stop();
      await rm(state, { recursive: true, force: true });
      if (leaked.length) throw new Error(`the upstream OpenAI key leaked into: ${leaked.join(', ')}`);
    },
  };
  return stack;
}
