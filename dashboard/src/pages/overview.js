// Overview: spend over the range, split by model or provider, with totals and the change
// against the period of the same length just before.
import { h } from '../dom.js';
import { get, session } from '../api.js';
import { addDays, change, formatCount, formatNano, nano, nanoToUsd, usdToNano } from '../format.js';
import { loading, empty, money, table, rangeOf, rangeForm, pageHeader, hrefWith } from '../ui.js';

const MAX_SERIES = 8;

export async function overview(main, ctx) {
  const range = rangeOf(ctx.params);
  const split = ctx.params.get('split') === 'provider' ? 'provider' : 'model';
  const prev = { from: addDays(range.from, -range.days), to: range.from };
  const splitSelect = h('select', { id: 'split', dataset: { param: 'split' } },
    h('option', { value: 'model', selected: split === 'model' }, 'model'),
    h('option', { value: 'provider', selected: split === 'provider' }, 'provider'));
  main.append(pageHeader('Overview'),
    rangeForm('overview', ctx.params, range, h('div', { class: 'field' }, h('label', { for: 'split' }, 'Split by'), splitSelect)));
  const status = main.appendChild(loading('spend'));
  // Progressively: the totals (one cheap sum) are the first numbers on screen; then the
  // split per day (a grouped sum) for the table and chart, and the previous period's totals
  // for the changes. Local D1 answers one query at a time, so the cheap one goes first.
  const cur = await get('/costs', { from: range.apiFrom, to: range.apiTo });
  if (!ctx.alive()) return;
  status.remove();
  const t = totalsOf(cur.totals);
  const vs = `vs ${prev.from} – ${addDays(prev.to, -1)}`;
  const cards = {
    spend: card('spend', 'Spend', money(nanoToUsd(t.cost)), 'previous'),
    calls: card('calls', 'Calls', formatCount(t.calls), 'previous'),
    tokens: card('tokens', 'Tokens', formatCount(t.total_tokens), 'previous',
      `${formatCount(t.input_tokens)} in (${formatCount(t.cached_input_tokens)} cached), ${formatCount(t.output_tokens)} out`),
    unpriced: card('unpriced', 'Unpriced calls', formatCount(t.unpriced_calls), null,
      t.unpriced_calls > 0 ? h('a', { href: '#/pricing' }, 'see which models') : 'every call priced'),
    errors: card('errors', 'Errors', formatCount(t.error_calls), 'previous', 'calls that were not 2xx'),
    delivery: card('delivery', 'Unwritten events', '…', null, 'events of this deployment that could not be stored'),
  };
  main.append(h('section', { class: 'cards', 'aria-label': 'Totals' }, Object.values(cards)));
  performance.mark('llmobserve:overview');
  showDelivery(cards.delivery, ctx);
  const grouped = t.calls === 0 ? null : get('/costs', { from: range.apiFrom, to: range.apiTo, group_by: `day,${split}` });
  const before = get('/costs', { from: prev.from, to: prev.to });
  before.then((b) => {
    if (!ctx.alive()) return;
    const p = b.totals;
    setDelta(cards.spend, change(t.cost, usdToNano(p.cost_usd)), vs, `previous ${formatNano(usdToNano(p.cost_usd))}`);
    setDelta(cards.calls, change(t.calls, p.calls), vs, `previous ${formatCount(p.calls)}`);
    setDelta(cards.tokens, change(t.total_tokens, p.total_tokens), vs);
    setDelta(cards.errors, change(t.error_calls, p.error_calls), vs, `previous ${formatCount(p.error_calls)}`);
  }, (e) => {
    if (ctx.alive()) for (const c of [cards.spend, cards.calls, cards.tokens, cards.errors]) setDelta(c, null, `previous period: ${e.message}`);
  });
  if (t.calls === 0) {
    main.append(empty(`No calls recorded for ${session.customer ?? session.tenant} from ${range.from} to ${range.to}.`,
      'Send a call through the gateway (README, Usage) or choose a wider range above.'));
    return;
  }
  const wait = main.appendChild(loading(`spend by ${split}`));
  const byDay = await grouped;
  if (!ctx.alive()) return;
  wait.remove();
  // Per split key: the exact total, and per day for the chart.
  const totals = new Map();
  const perDay = new Map();
  for (const g of byDay.data) {
    const k = g[split] ?? '(none)';
    const row = totals.get(k) ?? { name: k, nano: 0n, calls: 0, unpriced: 0, tokens: 0n };
    row.nano += nano(g.cost_nanousd);
    row.calls += g.calls;
    row.unpriced += g.unpriced_calls;
    row.tokens += BigInt(g.total_tokens);
    totals.set(k, row);
    perDay.set(`${g.day}|${k}`, nano(g.cost_nanousd));
  }
  const rows = [...totals.values()].sort((a, b) => (b.nano > a.nano ? 1 : b.nano < a.nano ? -1 : a.name.localeCompare(b.name)));
  const all = t.cost;
  const days = Array.from({ length: range.days }, (_, i) => addDays(range.from, i));
  const chartBox = h('figure', { class: 'chart card' },
    h('figcaption', {}, `Spend per day by ${split}, USD`),
    h('div', { class: 'chart-area' }, h('canvas', { role: 'img', 'aria-label': `Spend per day by ${split} from ${range.from} to ${range.to}; the table below has the numbers.` })));
  main.append(chartBox,
    h('h2', {}, `By ${split}`),
    table(`Spend by ${split}`, [
      [split === 'model' ? 'Model' : 'Provider', (r) => split === 'model' && r.name !== '(none)'
        ? h('a', { href: hrefWith('runs', new URLSearchParams(), { model: r.name, from: range.from, to: range.to }) }, r.name) : r.name],
      ['Spend', (r) => money(r.unpriced === r.calls ? null : nanoToUsd(r.nano)), { num: true }],
      ['Share', (r) => (all > 0n ? `${(Number((r.nano * 1000n) / all) / 10).toFixed(1)}%` : '–'), { num: true }],
      ['Calls', (r) => formatCount(r.calls), { num: true }],
      ['Unpriced', (r) => formatCount(r.unpriced), { num: true }],
      ['Tokens', (r) => formatCount(r.tokens), { num: true }],
    ], rows, (r) => ({ dataset: { key: r.name } })));
  performance.mark('llmobserve:table');
  // The chart library loads after the numbers are on screen.
  const { stackedBars } = await import('../chart.js');
  if (!ctx.alive()) return;
  const shown = rows.slice(0, MAX_SERIES);
  const rest = rows.slice(MAX_SERIES);
  const series = shown.map((r) => ({ label: r.name, values: days.map((d) => toUsd(perDay.get(`${d}|${r.name}`) ?? 0n)) }));
  if (rest.length) series.push({ label: `${rest.length} others`, values: days.map((d) => toUsd(rest.reduce((s, r) => s + (perDay.get(`${d}|${r.name}`) ?? 0n), 0n))) });
  stackedBars(chartBox.querySelector('canvas'), days, series);
  performance.mark('llmobserve:chart');
}

/** For drawing only: a float is fine on a chart, never in a number shown as text. */
function toUsd(n) {
  return Number(n) / 1e9;
}

/** The API's totals with the amounts as BigInts (sums above 2^53 come as strings). */
function totalsOf(x) {
  const t = { ...x, cost: usdToNano(x.cost_usd) };
  for (const k of ['total_tokens', 'input_tokens', 'cached_input_tokens', 'output_tokens']) t[k] = BigInt(x[k]);
  return t;
}

function card(id, label, value, pending, note) {
  return h('div', { class: 'card metric', dataset: { metric: id } },
    h('p', { class: 'metric-label' }, label),
    h('p', { class: 'metric-value' }, value),
    pending ? h('p', { class: 'delta muted' }, h('span', {}, '…'), ' ', h('span', { class: 'muted' }, 'vs the previous period')) : null,
    h('p', { class: 'muted small note' }, note ?? ''));
}

/**
 * The delivery counters of `GET /health` (docs/delivery.md): events of the whole deployment
 * that could not be written (a count, never their content), in D1 and in this isolate.
 */
async function showDelivery(cardEl, ctx) {
  const value = cardEl.querySelector('.metric-value');
  const note = cardEl.querySelector('.note');
  try {
    const r = await fetch('/health', { cache: 'no-store' });
    const ingest = (await r.json()).ingest ?? {};
    if (!ctx.alive()) return;
    const stored = ingest.unwritten_events;
    const here = ingest.unwritten_events_this_isolate ?? 0;
    if (stored === null || stored === undefined) {
      value.textContent = 'unknown';
      note.textContent = 'the database did not answer /health';
      cardEl.classList.add('warn');
      return;
    }
    const total = stored + here;
    value.textContent = formatCount(total);
    cardEl.dataset.unwritten = String(total);
    if (total > 0) {
      cardEl.classList.add('warn');
      note.textContent = `${formatCount(stored)} parked in D1, ${formatCount(here)} lost in this isolate: see docs/delivery.md`;
    } else {
      note.textContent = `every event stored (write mode ${ingest.write_mode})`;
    }
  } catch (e) {
    if (ctx.alive()) { value.textContent = 'unknown'; note.textContent = `/health: ${e.message}`; }
  }
}

function setDelta(cardEl, delta, vs, note) {
  const el = cardEl.querySelector('.delta');
  el.className = delta ? `delta ${delta.direction}` : 'delta muted';
  if (delta) el.dataset.delta = delta.text;
  el.replaceChildren(h('span', {}, delta?.text ?? ''), ' ', h('span', { class: 'muted' }, vs));
  if (note) cardEl.querySelector('.note').textContent = note;
}
