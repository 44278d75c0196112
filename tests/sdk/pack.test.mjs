// The npm package as a user gets it: `npm pack`, installed from the tarball into an empty
// directory, then loaded from plain Node ESM and CommonJS, and its types checked by tsc as
// a user's strict project would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PKG, KEY, startServer } from './helpers.mjs';

const run = promisify(execFile);
const TESTS = import.meta.dirname;
let dir;
let tarball;
let gateway;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmobserve-pack-'));
  const { stdout } = await run('npm', ['pack', PKG, '--pack-destination', dir, '--json']);
  const [info] = JSON.parse(stdout);
  tarball = join(dir, info.filename);
  console.log(`# ${info.filename}: ${(await stat(tarball)).size} bytes packed, ${info.unpackedSize} unpacked, ${info.entryCount} files`);
  assert.deepEqual(info.files.map((f) => f.path).sort(), [
    'README.md', 'index.cjs', 'index.d.cts', 'index.d.mts', 'index.mjs', 'package.json',
    'wasm/llmobserve_sdk.d.ts', 'wasm/llmobserve_sdk.js', 'wasm/llmobserve_sdk_bg.wasm',
  ]);
  const app = join(dir, 'app');
  await run('mkdir', [app]);
  // No dependencies, so nothing is fetched: the install works offline.
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app });
  gateway = await startServer();
});

after(async () => {
  await gateway?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const script = (load) => `
  ${load}
  observe({ gatewayUrl: ${JSON.stringify(gateway.url)}, apiKey: ${JSON.stringify(KEY)} });
  withRun({ tenantId: 'acme-corp', customerId: 'alice' }, () =>
    section('agent:a', () => retryBlock('call', () => fetch(${JSON.stringify(gateway.url)} + '/v1/models'))))
    .then((r) => console.log(JSON.stringify({ status: r.status, ctx: getContext() })));
`;

async function node(file, text, headerSection) {
  const path = join(dir, 'app', file);
  await writeFile(path, text);
  const { stdout } = await run(process.execPath, [path], { cwd: join(dir, 'app') });
  const out = JSON.parse(stdout.trim());
  assert.equal(out.status, 200);
  assert.equal(out.ctx.sectionPath, null);
  const req = gateway.requests.shift();
  assert.equal(req.headers['x-llmobserve-tenant'], 'acme-corp');
  assert.equal(req.headers['x-llmobserve-section'], headerSection);
}

test('the installed package works from plain Node ESM', async () => {
  assert.deepEqual((await readdir(join(dir, 'app', 'node_modules'))).filter((f) => !f.startsWith('.')), ['llmobserve']);
  await node('app.mjs', script("import { observe, withRun, section, retryBlock, getContext, fetch } from 'llmobserve';"),
    'agent:a/retry:call:attempt_1');
  await node('default.mjs', script("import llmobserve from 'llmobserve'; const { observe, withRun, section, retryBlock, getContext, fetch } = llmobserve;"),
    'agent:a/retry:call:attempt_1');
});

test('the installed package works from CommonJS', async () => {
  await node('app.cjs', script("const { observe, withRun, section, retryBlock, getContext, fetch } = require('llmobserve');"),
    'agent:a/retry:call:attempt_1');
});

test('ESM and CommonJS share one instance: one context store, one report queue', async () => {
  const path = join(dir, 'app', 'both.mjs');
  await writeFile(path, `
    import { createRequire } from 'node:module';
    import * as esm from 'llmobserve';
    const cjs = createRequire(import.meta.url)('llmobserve');
    esm.withRun({ tenantId: 'shared' }, () => console.log(cjs.getContext().tenantId, esm.LlmobserveError === cjs.LlmobserveError));
  `);
  const { stdout } = await run(process.execPath, [path], { cwd: join(dir, 'app') });
  assert.equal(stdout.trim(), 'shared true');
});

test('the types check in a strict TypeScript project, as ESM and as CommonJS, with Express', async () => {
  const app = join(dir, 'app');
  const usage = (load) => `${load}
    observe({ gatewayUrl: 'http://127.0.0.1:8787', apiKey: 'llmo_x', batchSize: 10, onError: (e) => console.error(e.message, e.details) });
    const opts: { baseURL: string; apiKey: string; fetch: typeof globalThis.fetch } = openaiOptions();
    const app = express();
    app.use(expressMiddleware<express.Request>({ context: (req) => ({ tenantId: req.get('x-tenant') ?? null }) }));
    const server = http.createServer(httpHandler((req, res) => { res.end(getContext().runId); }));
    const n: number = section('agent:a', () => 1);
    const p: Promise<string> = retryBlock('x', async ({ attempt, sectionPath }) => sectionPath + attempt, { maxAttempts: 2, retryOn: (e) => e instanceof Error });
    const id: string = report({ provider: 'anthropic', model: 'claude', usage: { input_tokens: 1 }, started_at: new Date(), outcome: 'completed' });
    const done: Promise<void> = flush();
    const ctx = withRun({ tenantId: 't' }, () => getContext());
    const attempt: number | null = ctx.attempt;
    const h: Record<string, string> = getHeaders();
    const r: Promise<Response> = fetch('http://127.0.0.1:8787/v1/models', { method: 'GET' });
    setTenantId(null); setCustomerId('c'); setProperty('feature', 'summary'); setProperty('feature', null);
    const props: Readonly<Record<string, string>> = ctx.properties;
    // @ts-expect-error provider and model are required
    report({ usage: {} });
    // @ts-expect-error outcomes are a closed set
    report({ provider: 'openai', model: 'm', outcome: 'done' });
    try { setTenantId('x') } catch (e) { if (e instanceof LlmobserveError) console.log(e.message); }
    export { opts, server, n, p, id, done, attempt, h, r, props };
  `;
  const names = '{ observe, openaiOptions, expressMiddleware, httpHandler, getContext, section, retryBlock, report, flush, withRun, getHeaders, fetch, setTenantId, setCustomerId, setProperty, LlmobserveError }';
  await writeFile(join(app, 'use.mts'), usage(`import ${names} from 'llmobserve';\nimport express from 'express';\nimport * as http from 'node:http';`));
  await writeFile(join(app, 'use.cts'), usage(`import ${names} = require('llmobserve');\nimport express = require('express');\nimport http = require('node:http');`)
    .replace(/import (\{[^}]+\}) = require\('llmobserve'\);/, "import llmobserve = require('llmobserve');\nconst $1 = llmobserve;"));
  const types = join(TESTS, 'node_modules/@types');
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      types: ['node'], typeRoots: [types], esModuleInterop: false,
      paths: { express: [join(types, 'express')] },
    },
    files: ['use.mts', 'use.cts'],
  }));
  try {
    await run(join(TESTS, 'node_modules/.bin/tsc'), ['-p', app]);
  } catch (e) {
    assert.fail(`tsc:\n${e.stdout}${e.stderr}`);
  }
});
