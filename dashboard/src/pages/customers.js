// Customers of the tenant: cost, calls, tokens and latency percentiles per customer, most
// expensive first, a page at a time.
import { h } from '../dom.js';
import { get, session } from '../api.js';
import { formatCount, formatMs, formatTime } from '../format.js';
import { loading, empty, money, table, rangeOf, rangeForm, pageHeader, pager, hrefWith } from '../ui.js';

export async function customers(main, ctx) {
  const p = ctx.params;
  const range = rangeOf(p);
  main.append(pageHeader('Customers', h('p', { class: 'muted' }, `Customers of ${session.tenant}, most expensive first.`)),
    rangeForm('customers', p, range));
  const state = main.appendChild(loading('customers'));
  const page = await get(`/tenants/${encodeURIComponent(session.tenant)}/customers`,
    { from: range.apiFrom, to: range.apiTo, limit: 50, cursor: p.get('cursor') ?? '' }, { tenant: false });
  if (!ctx.alive()) return;
  state.remove();
  if (page.data.length === 0) {
    main.append(empty(`No calls recorded from ${range.from} to ${range.to}.`, 'Customers appear once calls name one (x-llmobserve-customer). Choose a wider range, or send a call.'));
    return;
  }
  const runsOf = (c) => hrefWith('runs', new URLSearchParams(), { customer: c, from: range.from, to: range.to });
  main.append(table('Customers', [
    ['Customer', (c) => (c.customer_id === null ? h('span', { class: 'muted' }, 'no customer named')
      : session.customer ? c.customer_id : h('a', { href: runsOf(c.customer_id) }, c.customer_id))],
    ['Spend', (c) => money(c.cost_usd), { num: true }],
    ['Calls', (c) => formatCount(c.calls), { num: true }],
    ['Errors', (c) => formatCount(c.error_calls), { num: true }],
    ['Unpriced', (c) => formatCount(c.unpriced_calls), { num: true }],
    ['Tokens', (c) => formatCount(c.total_tokens), { num: true }],
    ['Avg latency', (c) => formatMs(c.avg_latency_ms), { num: true }],
    ['p50', (c) => formatMs(c.p50_latency_ms), { num: true }],
    ['p95', (c) => formatMs(c.p95_latency_ms), { num: true }],
    ['Last call', (c) => formatTime(c.last_seen), { nowrap: true }],
  ], page.data, (c) => ({ dataset: { customer: c.customer_id ?? '' } })),
  pager('customers', p, page.next_cursor, 'Customers') ?? '');
}
