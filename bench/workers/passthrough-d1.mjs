// The JS passthrough plus the D1 work that llmobserve does for each gateway call, written
// the plainest way, against llmobserve's own schema (worker/src/store.rs): the key looked
// up by its hash and kept for 30 s per isolate (llmobserve's key cache); after the
// response (waitUntil), one D1 batch per call with the event insert and its retry-chain
// lookup. llmobserve batches the writes of concurrent calls (group commit) and reads its
// price overrides at most every 30 s; neither is done here. What is left between this and
// llmobserve is llmobserve's own work.
const KEY_HASH = 'bench-key-hash';
const KEY_TTL_MS = 30_000;
let cachedKey = null;

async function key(env) {
  if (cachedKey && Date.now() - cachedKey.at < KEY_TTL_MS) return cachedKey.row;
  const row = await env.DB.prepare(
    'SELECT id, name, scopes, tenant_id, customer_id, secret_hint, created_at, created_by, expires_at, '
    + 'revoked_at, rotated_at, previous_expires_at, key_hash = ?1 AS is_current '
    + 'FROM api_keys WHERE key_hash = ?1 OR previous_key_hash = ?1',
  ).bind(KEY_HASH).first();
  cachedKey = { at: Date.now(), row };
  return row;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const started = Date.now();
    const k = await key(env);
    if (!k) return new Response('unknown key', { status: 401 });
    const response = await fetch(env.UPSTREAM + url.pathname + url.search, request);
    const id = crypto.randomUUID();
    ctx.waitUntil(env.DB.batch([
      env.DB.prepare(
        'INSERT OR IGNORE INTO events (id, tenant_id, customer_id, section_path, run_id, key_id, provider, endpoint, method, '
        + 'request_model, response_model, is_stream, status_code, input_tokens, output_tokens, usage_source, pricing_status, '
        + 'cost_nanousd, price_ref, price_version, started_at, latency_ms, request_hash) '
        + 'VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)',
      ).bind(id, 'bench', 'alice', 'agent:bench/step:call', 'bench-run', k.id, 'openai', url.pathname, request.method,
        'gpt-4o-mini', 'gpt-4o-mini', 0, response.status, 12, 16, 'reported', 'priced', 9900, 'openai/gpt-4o-mini@bench', 'bench',
        started, Date.now() - started, 'bench-body-hash'),
      env.DB.prepare(
        'SELECT id, attempt, status_code, outcome, started_at FROM events '
        + 'WHERE tenant_id = ?1 AND run_id = ?2 AND request_hash = ?3 AND section_path IS ?4 '
        + 'AND started_at <= ?5 AND id != ?6 ORDER BY started_at DESC, id DESC LIMIT 1',
      ).bind('bench', 'bench-run', 'bench-body-hash', 'agent:bench/step:call', started, id),
    ]));
    return response;
  },
};
