// Where llmobserve's CPU goes: samples the worker with V8's CPU profiler (through
// workerd's inspector) while oha drives non-streamed gateway calls, then prints the
// functions with the most self time (wasm functions by their Rust names) and writes the
// .cpuprofile (open it in Chrome DevTools) to bench/results/.
//
//   node --experimental-websocket bench/profile.mjs [--mode queue|direct] [--seconds 10] [--c 8] [--stream]
// (`make build` and `cargo build --release -p mock-openai` first; bench/run.sh does both.)
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH, MOCK_HEADERS, freePort, startMiniflare, startMock } from './lib/targets.mjs';
import { oha } from './lib/oha.mjs';
import { summarize } from './lib/cpuprofile.mjs';

const { values: argv } = parseArgs({
  options: {
    mode: { type: 'string', default: 'queue' },
    // `passthrough`: the JS passthrough Worker instead, for the floor's own profile.
    target: { type: 'string', default: 'llmobserve' },
    seconds: { type: 'string', default: '10' },
    c: { type: 'string', default: '8' },
    stream: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
  },
});

const log = (...a) => console.error('[profile]', ...a);
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say something about foxes.' }],
  max_tokens: 16,
  ...(argv.stream ? { stream: true } : {}),
});

class Inspector {
  constructor(ws) { this.ws = ws; this.next = 1; this.waiting = new Map(); ws.onmessage = (m) => this.#on(JSON.parse(m.data)); }
  static async connect(port) {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    const t = targets.find((x) => x.webSocketDebuggerUrl) ?? (() => { throw new Error(`no inspector target: ${JSON.stringify(targets)}`); })();
    log(`attaching to ${t.title ?? t.id}`);
    const ws = new WebSocket(t.webSocketDebuggerUrl);
    await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
    return new Inspector(ws);
  }
  #on(m) {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (m.error) w.rej(new Error(JSON.stringify(m.error))); else w.res(m.result);
  }
  call(method, params = {}) {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((res, rej) => this.waiting.set(id, { res, rej }));
  }
}

const mock = await startMock();
const inspectorPort = await freePort();
const w = await startMiniflare(argv.target, mock.url, { writeMode: argv.mode, inspectorPort });
const headers = {
  'content-type': 'application/json', authorization: `Bearer ${w.key}`, ...MOCK_HEADERS,
  'x-llmobserve-tenant': 'bench', 'x-llmobserve-customer': 'alice', 'x-llmobserve-section': 'agent:bench/step:call',
};
try {
  const url = `${w.url}/v1/chat/completions`;
  await oha({ url, headers, body, seconds: 2, c: Number(argv.c) }); // warm up
  const insp = await Inspector.connect(inspectorPort);
  await insp.call('Profiler.enable');
  await insp.call('Profiler.setSamplingInterval', { interval: 100 });
  await insp.call('Profiler.start');
  const load = await oha({ url, headers, body, seconds: Number(argv.seconds), c: Number(argv.c) });
  await new Promise((r) => setTimeout(r, 1500)); // waitUntil work and queue batches finish
  const { profile } = await insp.call('Profiler.stop');
  insp.ws.close();
  const requests = load.ok;
  const { all, self, total, gapUs, capUs } = summarize(profile);
  const busy = all - (self.get('(idle)') ?? 0);
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  const file = join(BENCH, 'results', `profile-${argv.target === 'llmobserve' ? argv.mode : argv.target}${argv.stream ? '-stream' : ''}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`${requests} calls (${argv.stream ? 'streamed' : 'non-streamed'}, c=${argv.c}, ${argv.mode} write mode), statuses ${JSON.stringify(load.statuses)}`);
  console.log(`JS thread busy ${(busy / 1000).toFixed(0)} ms = ${(busy / 1000 / requests).toFixed(3)} ms per call ((program), native work outside JS and wasm: ${((self.get('(program)') ?? 0) / 1000 / requests).toFixed(3)} ms per call)`);
  console.log(`not attributed: ${(gapUs / 1000 / requests).toFixed(3)} ms per call of gaps between samples beyond ${(capUs / 1000).toFixed(2)} ms (twice the median interval): `
    + 'the thread outside V8, idle or in workerd\'s own work (bench/lib/cpuprofile.mjs)');
  const top = Number(argv.top);
  const rows = (m) => [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, us]) => `${(us / 1000 / requests).toFixed(4).padStart(8)} ms/call  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k.slice(0, 140)}`);
  console.log(`\nself time, top ${top}:\n${rows(self).join('\n')}`);
  console.log(`\ntotal time (inclusive), top ${top}:\n${rows(total).join('\n')}`);
  console.log(`\nprofile: ${file}`);
  const problems = w.logs().split('\n').filter((l) => /error|exception|closure|context|LOST/i.test(l));
  console.log(problems.length ? `\nthe worker logged ${problems.length} problem lines, the last ones:\n${problems.slice(-10).join('\n')}` : '\nthe worker logged no errors');
} finally {
  await w.stop();
  await mock.stop();
}
