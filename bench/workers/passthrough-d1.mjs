// The JS passthrough plus the D1 statements that llmobserve runs for each gateway call,
// written the plainest way: the key looked up by its hash before forwarding; after the
// response (waitUntil), the retry lookup and the event insert, against llmobserve's own
// schema (as in worker/src/store.rs: key_by_secret_hash, prior_attempt, insert_event).
// What is left between this and llmobserve is llmobserve's own work. llmobserve also
// reads its price overrides, at most every 30 s (BOOK_TTL_MS): left out here.
const KEY_HASH = 'bench-key-hash';

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const started = Date.now();
    const key = await env.DB.prepare(
      'SELECT id, name, scopes, tenant_id, customer_id, secret_hint, created_at, created_by, expires_at, '
      + 'revoked_at, rotated_at, previous_expires_at, key_hash = ?1 AS is_current '
      + 'FROM api_keys WHERE key_hash = ?1 OR previous_key_hash = ?1',
    ).bind(KEY_HASH).first();
    if (!key) return new Response('unknown key', { status: 401 });
    const response = await fetch(env.UPSTREAM + url.pathname + url.search, request);
    const id = crypto.randomUUID();
    ctx.waitUntil((async () => {
      await env.DB.prepare(
        'SELECT id, attempt, status_code, outcome, started_at FROM events '
        + 'WHERE tenant_id = ?1 AND run_id = ?2 AND request_hash = ?3 AND section_path IS ?4 '
        + 'AND started_at <= ?5 AND id != ?6 ORDER BY started_at DESC, id DESC LIMIT 1',
      ).bind('bench', 'bench-run', 'bench-body-hash', 'agent:bench/step:call', started, id).first();
      await env.DB.prepare(
        'INSERT OR IGNORE INTO events (id, tenant_id, customer_id, section_path, run_id, key_id, provider, endpoint, method, '
        + 'request_model, response_model, is_stream, status_code, input_tokens, output_tokens, usage_source, pricing_status, '
        + 'cost_nanousd, price_ref, price_version, started_at, latency_ms, request_hash) '
        + 'VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)',
      ).bind(id, 'bench', 'alice', 'agent:bench/step:call', 'bench-run', key.id, 'openai', url.pathname, request.method,
        'gpt-4o-mini', 'gpt-4o-mini', 0, response.status, 12, 16, 'reported', 'priced', 9900, 'openai/gpt-4o-mini@bench', 'bench',
        started, Date.now() - started, 'bench-body-hash').run();
    })());
    return response;
  },
};
