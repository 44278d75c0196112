// Formatting for the dashboard: money from the API's exact decimal strings (never through
// a float), counts, durations and UTC days. Pure functions; tested by dashboard/test/.

const NANO = 1_000_000_000n;

/** An exact USD decimal string ("12.345000001") as integer nano-USD. */
export function usdToNano(usd) {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(String(usd ?? ''));
  if (!m) throw new Error(`not a USD amount: ${usd}`);
  return BigInt(m[1]) * NANO + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** A `cost_nanousd` (an integer, or a decimal string above 2^53) as a BigInt. */
export function nano(value) {
  return BigInt(value ?? 0);
}

/** Integer nano-USD as the exact decimal string the API uses ("0.00015", "12"). */
export function nanoToUsd(n) {
  const whole = n / NANO;
  const frac = (n % NANO).toString().padStart(9, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

function group(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Nano-USD for reading: two decimals from $1 up, up to four from a cent up, and below a cent
 * the exact amount (so a small cost never shows as $0.00). Rounds half up.
 */
export function formatNano(n) {
  n = BigInt(n);
  if (n < 0n) return `-${formatNano(-n)}`;
  if (n === 0n) return '$0.00';
  if (n < 10_000_000n) return `$${nanoToUsd(n)}`;
  const decimals = n >= NANO ? 2 : 4;
  const unit = 10n ** BigInt(9 - decimals);
  const rounded = (n + unit / 2n) / unit;
  const scale = 10n ** BigInt(decimals);
  let frac = (rounded % scale).toString().padStart(decimals, '0');
  if (decimals > 2) frac = frac.replace(/0{1,2}$/, '');
  return `$${group((rounded / scale).toString())}.${frac}`;
}

/** The API's `cost_usd` string for reading; `null` (unpriced) stays visible as such. */
export function formatUsd(usd) {
  return usd === null || usd === undefined ? 'unpriced' : formatNano(usdToNano(usd));
}

/** A count (a number, or a decimal string above 2^53) with thousands separators. */
export function formatCount(v) {
  if (v === null || v === undefined) return '–';
  return group(BigInt(v).toString());
}

/** Milliseconds for reading: "850 ms", "1.25 s", "3 min 20 s". */
export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  const v = Number(ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(2)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * The change from `prev` to `cur` (BigInts): `{ text, direction }`, direction being
 * 'up', 'down', 'flat' or 'new'. Percentages to one decimal, computed in integers.
 */
export function change(cur, prev) {
  cur = BigInt(cur);
  prev = BigInt(prev);
  if (prev === 0n) return cur === 0n ? { text: 'no change', direction: 'flat' } : { text: 'new', direction: 'new' };
  const diff = cur - prev;
  if (diff === 0n) return { text: '0.0%', direction: 'flat' };
  const mag = diff < 0n ? -diff : diff;
  const tenths = (mag * 2000n + prev) / (2n * prev); // per mille, rounded half up
  const text = `${diff < 0n ? '−' : '+'}${group((tenths / 10n).toString())}.${tenths % 10n}%`;
  return { text, direction: diff < 0n ? 'down' : 'up' };
}

/** A UTC day (YYYY-MM-DD) moved by `n` days. */
export function addDays(day, n) {
  const t = Date.parse(`${day}T00:00:00Z`) + n * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included. */
export function dayCount(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

export function isDay(s) {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
}

/** Today as a UTC day. */
export function today(now = Date.now()) {
  return new Date(now).toISOString().slice(0, 10);
}

/** An RFC 3339 time as "2025-11-03 14:05:09 UTC". */
export function formatTime(iso) {
  if (!iso) return '–';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

const WORDS = { usd: 'USD', id: 'ID', pct: '%', llm: 'LLM', p50: 'p50', p95: 'p95' };

/** spend_spike -> "Spend spike"; cost_usd -> "Cost USD"; avgLatencyMs -> "Avg latency ms". */
export function humanize(key) {
  const words = String(key).replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').trim().toLowerCase()
    .split(' ').map((w) => WORDS[w] ?? w).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
