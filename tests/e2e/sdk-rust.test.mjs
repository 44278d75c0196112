// The native Rust SDK through the real gateway: runs the tokio test of sdk-wasm
// (tests/tokio_runs.rs: 1,000 concurrent runs with nested sections and a rate-limited retry
// block) against this stack, where it checks every stored event against the run that made it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack, ROOT } from './harness.mjs';

const run = promisify(execFile);
let stack;

before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('1,000 concurrent tokio runs through the gateway: every event is its own run\'s', async () => {
  const key = (await stack.createKey({ name: 'rust-app', scopes: ['ingest'] })).key;
  const env = {
    ...process.env,
    LLMOBSERVE_E2E_GATEWAY_URL: stack.url,
    LLMOBSERVE_E2E_KEY: key,
    LLMOBSERVE_E2E_ADMIN_TOKEN: stack.adminToken,
  };
  try {
    const { stderr } = await run('cargo', ['test', '--quiet', '-p', 'llmobserve-sdk', '--test', 'tokio_runs', '--', '--nocapture'],
      { cwd: ROOT, env, maxBuffer: 16 << 20 });
    const line = stderr.split('\n').find((l) => l.includes('concurrent runs'));
    console.log(`# ${line}`);
  } catch (e) {
    assert.fail(`cargo test failed:\n${e.stdout}\n${e.stderr}`);
  }
  // The test's checks ran against this stack: its events are here.
  const r = await stack.api('GET', '/runs/latest?tenant_id=initech&limit=1', { auth: stack.adminToken });
  assert.equal(r.json.data.length, 1);
});
