// Runs: the newest calls, filtered by customer, section, model, status and days (and the
// tenant, for a key that is not bound to one), a page at a time. Each call links to its run.
import { h } from '../dom.js';
import { get, session } from '../api.js';
import { formatCount, formatMs, formatTime } from '../format.js';
import { loading, empty, money, table, rangeOf, rangeForm, pageHeader, pager, hrefWith } from '../ui.js';

const PAGE_SIZE = 50;
const STATUSES = [['', 'any'], ['ok', 'ok (2xx)'], ['error', 'error (not 2xx)'], ['4xx', '4xx'], ['5xx', '5xx'], ['429', '429 rate limited']];

export async function runs(main, ctx) {
  const p = ctx.params;
  const range = rangeOf(p);
  const filters = {
    customer_id: session.customer ? '' : p.get('customer') ?? '',
    section_prefix: p.get('section') ?? '',
    model: p.get('model') ?? '',
    status: p.get('status') ?? '',
  };
  const customer = h('input', { id: 'f-customer', value: filters.customer_id, list: 'customers-list', dataset: { param: 'customer' }, autocomplete: 'off', spellcheck: 'false' });
  const section = h('input', { id: 'f-section', value: filters.section_prefix, dataset: { param: 'section' }, placeholder: 'agent:research', autocomplete: 'off', spellcheck: 'false' });
  const model = h('select', { id: 'f-model', dataset: { param: 'model' } }, h('option', { value: '' }, 'any'),
    filters.model ? h('option', { value: filters.model, selected: true }, filters.model) : null);
  const status = h('select', { id: 'f-status', dataset: { param: 'status' } }, STATUSES.map(([v, l]) => h('option', { value: v, selected: v === filters.status }, l)));
  const datalist = h('datalist', { id: 'customers-list' });
  main.append(pageHeader('Runs', h('p', { class: 'muted' }, 'The newest calls first. Open a run to see its section tree.')),
    rangeForm('runs', p, range, [
      session.customer ? null : h('div', { class: 'field' }, h('label', { for: 'f-customer' }, 'Customer'), customer, datalist),
      h('div', { class: 'field' }, h('label', { for: 'f-section' }, 'Section prefix'), section),
      h('div', { class: 'field' }, h('label', { for: 'f-model' }, 'Model'), model),
      h('div', { class: 'field' }, h('label', { for: 'f-status' }, 'Status'), status),
    ]));
  const active = Object.values(filters).some(Boolean);
  const state = main.appendChild(loading('calls'));
  const query = { ...filters, from: range.apiFrom, to: range.apiTo, limit: PAGE_SIZE, cursor: p.get('cursor') ?? '' };
  const [page, models, known] = await Promise.all([
    get('/runs/latest', query),
    get('/costs', { from: range.apiFrom, to: range.apiTo, group_by: 'model' }).catch(() => null),
    session.customer ? null : get(`/tenants/${encodeURIComponent(session.tenant)}/customers`, { from: range.apiFrom, to: range.apiTo, limit: 200 }, { tenant: false }).catch(() => null),
  ]);
  if (!ctx.alive()) return;
  state.remove();
  for (const g of models?.data ?? []) if (g.model && g.model !== filters.model) model.append(h('option', { value: g.model }, g.model));
  for (const c of known?.data ?? []) if (c.customer_id) datalist.append(h('option', { value: c.customer_id }));
  if (page.data.length === 0) {
    main.append(active || p.get('cursor')
      ? empty('No calls match these filters.', h('a', { href: hrefWith('runs', new URLSearchParams(), { from: range.from, to: range.to }) }, 'Clear the filters'))
      : empty(`No calls recorded from ${range.from} to ${range.to}.`, 'Send a call through the gateway (README, Usage) or choose a wider range.'));
    return;
  }
  main.append(h('p', { class: 'muted', role: 'status', dataset: { count: page.data.length } }, `${page.data.length} calls on this page${page.has_more ? '; more on the next' : ''}.`),
    table('Calls', [
      ['Started', (e) => formatTime(e.started_at), { nowrap: true }],
      ['Run', (e) => (e.run_id ? h('a', { href: `#/run/${encodeURIComponent(e.run_id)}` }, e.run_id) : h('span', { class: 'muted' }, 'none'))],
      session.customer ? null : ['Customer', (e) => e.customer_id ?? h('span', { class: 'muted' }, 'none')],
      ['Section', (e) => (e.section_path ? h('code', {}, e.section_path) : h('span', { class: 'muted' }, 'root'))],
      ['Model', (e) => e.model ?? '–'],
      ['Status', (e) => h('span', { class: e.status_code >= 200 && e.status_code < 300 ? 'status ok' : 'status bad' }, String(e.status_code))],
      ['Tokens in / out', (e) => `${formatCount(e.usage?.input_tokens ?? 0)} / ${formatCount(e.usage?.output_tokens ?? 0)}`, { num: true }],
      ['Cost', (e) => money(e.cost_usd), { num: true }],
      ['Latency', (e) => formatMs(e.latency_ms), { num: true }],
      ['Notes', (e) => notes(e)],
    ].filter(Boolean), page.data, (e) => ({ dataset: { event: e.id } })),
    pager('runs', p, page.next_cursor, 'Calls') ?? '');
}

export function notes(e) {
  const out = [];
  if (e.is_retry) out.push(h('span', { class: 'tag warn' }, `retry, attempt ${e.attempt ?? '?'}`));
  if (e.outcome === 'stream_cancelled') out.push(h('span', { class: 'tag warn' }, 'stream cancelled'));
  else if (e.outcome !== 'completed') out.push(h('span', { class: 'tag bad' }, e.outcome.replace(/_/g, ' ')));
  if (e.pricing_status === 'unpriced') out.push(h('span', { class: 'tag warn' }, `unpriced: ${e.unpriced_reason ?? 'unknown'}`));
  if (e.usage_source === 'estimated') out.push(h('span', { class: 'tag' }, 'tokens estimated'));
  return out.length ? out : '';
}
