// An independent statement of the read API's rules, in JavaScript: given the seeded
// rows, a principal and a request, what must the API answer? The isolation tests compare
// every real answer with this oracle, row for row.

export const DAY = 86_400_000;

/** A deterministic PRNG (mulberry32), so a failing property case can be replayed. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
export const byNewest = (a, b) => b.started_at - a.started_at || cmp(b.id, a.id);
export const byOldest = (a, b) => a.started_at - b.started_at || cmp(a.id, b.id);

/**
 * The scope a principal reads with, or the refusal: `{ status, code }`.
 * principal: `{ auth: 'ok'|'bad', scopes: [...], tenant?, customer? }`.
 */
export function readScope(p, { tenant, customer }) {
  if (p.auth !== 'ok') return { status: 401, code: 'invalid_api_key' };
  if (!p.scopes.includes('read') && !p.scopes.includes('admin')) return { status: 403, code: 'insufficient_scope' };
  if (p.tenant && tenant && tenant !== p.tenant) return { status: 404, code: 'not_found' };
  const t = p.tenant ?? tenant;
  if (!t) return { status: 400, code: 'tenant_required' };
  if (p.customer && customer && customer !== p.customer) return { status: 404, code: 'not_found' };
  return { tenant: t, customer: p.customer ?? customer ?? null };
}

export function inScope(scope, row) {
  return row.tenant_id === scope.tenant && (scope.customer === null || row.customer_id === scope.customer);
}

export function matchesFilters(e, f) {
  if (f.run_id && e.run_id !== f.run_id) return false;
  if (f.section_prefix && !(e.section_path === f.section_prefix || (e.section_path ?? '').startsWith(`${f.section_prefix}/`))) return false;
  if (f.model && e.request_model !== f.model && e.response_model !== f.model) return false;
  if (f.provider && e.provider !== f.provider) return false;
  if (f.endpoint && e.endpoint !== f.endpoint) return false;
  if (f.status) {
    const s = e.status_code;
    const ok = s >= 200 && s <= 299;
    if (f.status === 'ok' && !ok) return false;
    if (f.status === 'error' && ok) return false;
    if (/^[1-5]xx$/.test(f.status) && Math.floor(s / 100) !== Number(f.status[0])) return false;
    if (/^\d{3}$/.test(f.status) && s !== Number(f.status)) return false;
  }
  if (f.pricing_status && e.pricing_status !== f.pricing_status) return false;
  if (f.from !== undefined && e.started_at < f.from) return false;
  if (f.to !== undefined && e.started_at >= f.to) return false;
  return true;
}

export function sums(events) {
  const s = { calls: 0, priced_calls: 0, error_calls: 0, cost: 0n, input_tokens: 0, output_tokens: 0 };
  for (const e of events) {
    s.calls += 1;
    if (e.cost_nanousd !== null) { s.priced_calls += 1; s.cost += BigInt(e.cost_nanousd); }
    if (e.status_code < 200 || e.status_code > 299) s.error_calls += 1;
    s.input_tokens += e.input_tokens;
    s.output_tokens += e.output_tokens;
  }
  return s;
}

export function usd(nanos) {
  const n = BigInt(nanos);
  const whole = n / 1_000_000_000n;
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

export const isoDay = (ms) => new Date(Math.floor(ms / DAY) * DAY).toISOString().slice(0, 10);

export function groupKey(e, dim, depth) {
  switch (dim) {
    case 'day': return isoDay(e.started_at);
    case 'model': return e.response_model ?? e.request_model;
    case 'provider': return e.provider;
    case 'customer': return e.customer_id;
    case 'endpoint': return e.endpoint;
    case 'section': {
      if (e.section_path === null || !depth) return e.section_path;
      return e.section_path.split('/').slice(0, depth).join('/');
    }
    default: throw new Error(dim);
  }
}

/** Nearest-rank percentile of sorted numbers. */
export function nearestRank(sorted, p) {
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

export function customerRows(events) {
  const by = new Map();
  for (const e of events) {
    if (!by.has(e.customer_id)) by.set(e.customer_id, []);
    by.get(e.customer_id).push(e);
  }
  return [...by.entries()].map(([customer_id, es]) => {
    const lat = es.map((e) => e.latency_ms).sort((a, b) => a - b);
    const s = sums(es);
    return { customer_id, calls: s.calls, cost: s.cost, p50: nearestRank(lat, 50), p95: nearestRank(lat, 95), max: lat.at(-1) };
  }).sort((a, b) => (a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : 0) || b.calls - a.calls
    || (a.customer_id === null ? -1 : b.customer_id === null ? 1 : cmp(a.customer_id, b.customer_id)));
}

const SEVERITY = { critical: 0, warning: 1, info: 2 };
export function insightRows(insights, scope, q) {
  return insights.filter((i) => i.tenant_id === scope.tenant && (scope.customer === null || i.customer_id === scope.customer))
    .filter((i) => (q.from === undefined || i.day >= q.from) && (q.to === undefined || i.day < q.to))
    .filter((i) => (!q.type || i.type === q.type) && (!q.severity || i.severity === q.severity))
    .sort((a, b) => cmp(b.day, a.day) || SEVERITY[a.severity] - SEVERITY[b.severity] || b.created_at - a.created_at || cmp(a.id, b.id));
}
