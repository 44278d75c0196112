// Direct access to the local D1 database that `wrangler dev --persist-to` keeps: a
// SQLite file under <state>/v3/d1/. Used to seed events faster than the gateway can make
// them (and with any timestamps), and to dump every row for the leak checks.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The D1 SQLite file(s) under a persist directory. */
export async function d1Files(stateDir) {
  const out = [];
  async function walk(dir) {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.sqlite') && p.includes(join('v3', 'd1'))) out.push(p);
    }
  }
  await walk(stateDir);
  return out;
}

async function d1File(stateDir) {
  const files = (await d1Files(stateDir)).filter((f) => !f.includes('metadata'));
  if (files.length !== 1) throw new Error(`expected one D1 sqlite file under ${stateDir}, found ${files}`);
  return files[0];
}

const SEED = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = json.load(sys.stdin)
for table, items in rows.items():
    for r in items:
        cols = list(r.keys())
        db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", [r[c] for c in cols])
db.commit()
`;

/** Inserts rows, `{ events: [{...}], insights: [{...}] }`, with their own column names. */
export async function seedD1(stateDir, tables) {
  const file = await d1File(stateDir);
  const child = run('python3', ['-c', SEED, file], { maxBuffer: 1 << 26 });
  child.child.stdin.end(JSON.stringify(tables));
  await child;
}

const DUMP = `
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
out = {}
for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
    cur = db.execute(f'SELECT * FROM "{name}"')
    cols = [c[0] for c in cur.description]
    out[name] = [dict(zip(cols, row)) for row in cur.fetchall()]
print(json.dumps(out, default=str))
`;

/**
 * Every row of every table, `{ table: [row, ...] }`. With `internal: false`, without the
 * runtime's own bookkeeping (`_cf_*`, whose counters move on every read).
 */
export async function dumpD1(stateDir, { internal = true } = {}) {
  const { stdout } = await run('python3', ['-c', DUMP, await d1File(stateDir)], { maxBuffer: 1 << 28 });
  const all = JSON.parse(stdout);
  if (!internal) for (const t of Object.keys(all)) if (t.startsWith('_cf_')) delete all[t];
  return all;
}

/** A complete events row with defaults, for seeding. */
export function eventRow(e) {
  return {
    customer_id: null, section_path: null, run_id: null, attempt: null, key_id: null,
    provider: 'openai', endpoint: '/v1/chat/completions', method: 'POST',
    request_model: 'gpt-4o-mini', response_model: null, is_stream: 0, status_code: 200, error: null,
    input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_tokens: 0,
    audio_input_tokens: 0, audio_output_tokens: 0, usage_source: 'reported',
    pricing_status: e.cost_nanousd === null || e.cost_nanousd === undefined ? 'unpriced' : 'priced',
    unpriced_reason: e.cost_nanousd === null || e.cost_nanousd === undefined ? 'unknown_model' : null,
    cost_nanousd: null, price_ref: null, price_version: null, latency_ms: 100,
    ...e,
  };
}
