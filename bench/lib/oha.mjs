// Runs oha (crates.io `oha`, the load tool) against one URL and returns its percentiles.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { homedir } from 'node:os';

const run = promisify(execFile);
export const OHA = process.env.OHA_BIN ?? join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin/oha');

/**
 * POST requests with `c` connections kept alive, closed loop (each connection sends its
 * next request when the previous answer is complete): `n` of them, or as many as fit in
 * `seconds` (requests still in flight then are waited for and counted). Latencies in ms.
 */
export async function oha({ url, headers = {}, body, n, seconds, c, method = 'POST' }) {
  const amount = seconds ? ['-z', `${seconds}s`, '-w'] : ['-n', String(n)];
  const args = [...amount, '-c', String(c), '-m', method, '--no-tui', '--output-format', 'json'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (body !== undefined) args.push('-d', body);
  args.push(url);
  const { stdout } = await run(OHA, args, { maxBuffer: 64 << 20 });
  const j = JSON.parse(stdout);
  const lp = j.latencyPercentiles ?? {};
  const ms = (s) => (typeof s === 'number' ? s * 1000 : null);
  const statuses = j.statusCodeDistribution ?? {};
  const ok = Object.entries(statuses).filter(([s]) => s.startsWith('2')).reduce((a, [, k]) => a + k, 0);
  const total = Object.values(statuses).reduce((a, k) => a + k, 0) + Object.values(j.errorDistribution ?? {}).reduce((a, k) => a + k, 0);
  return {
    n: total, c,
    p50: ms(lp.p50), p90: ms(lp.p90), p99: ms(lp.p99),
    mean: ms(j.summary?.average),
    rps: j.summary?.requestsPerSec ?? null,
    seconds: j.summary?.total ?? null,
    ok,
    statuses,
    errors: j.errorDistribution ?? {},
  };
}

export async function ohaVersion() {
  try {
    const { stdout } = await run(OHA, ['--version']);
    return stdout.trim();
  } catch {
    return null;
  }
}
