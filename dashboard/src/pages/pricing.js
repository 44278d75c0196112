// Pricing: the effective price list (overrides, then the registry), and the models this
// tenant called that have no price, highlighted.
import { h } from '../dom.js';
import { get, session } from '../api.js';
import { formatCount, humanize, today } from '../format.js';
import { loading, table, rangeOf, pageHeader, hrefWith } from '../ui.js';

const MAIN_RATES = ['input', 'cached_input', 'output'];
const TIERS = ['batch', 'flex', 'priority', 'training', 'training_per_hour'];

export async function pricing(main, ctx) {
  const p = ctx.params;
  const range = rangeOf(p);
  const search = h('input', { id: 'f-search', type: 'search', value: p.get('q') ?? '', autocomplete: 'off', spellcheck: 'false' });
  main.append(pageHeader('Pricing', h('p', { class: 'muted' }, 'USD per 1M tokens unless the entry says otherwise. Overrides win over the registry from their day on.')));
  const state = main.appendChild(loading('the price list'));
  const [list, unpriced] = await Promise.all([
    get('/pricing', {}, { tenant: false }),
    get('/costs', { from: range.apiFrom, to: range.apiTo, group_by: 'model', pricing_status: 'unpriced' }),
  ]);
  if (!ctx.alive()) return;
  state.remove();
  const missing = unpriced.data.filter((g) => g.unpriced_calls > 0);
  main.append(missing.length
    ? h('section', { class: 'state warn', 'aria-labelledby': 'unpriced-title', dataset: { state: 'unpriced' } },
      h('h2', { id: 'unpriced-title' }, `Models without a price (${range.from} to ${range.to})`),
      h('p', {}, `These models were called by ${session.customer ?? session.tenant} and could not be priced: their calls are recorded with no cost, never as $0. Add an override (PUT /pricing/{model}), then re-price the days.`),
      h('ul', {}, missing.map((g) => h('li', { dataset: { unpriced: g.model ?? '' } }, h('code', {}, g.model ?? '(no model)'), ` — ${formatCount(g.unpriced_calls)} calls `,
        h('a', { href: hrefWith('runs', new URLSearchParams(), { model: g.model ?? '', from: range.from, to: range.to }) }, 'see them')))))
    : h('p', { class: 'state ok', role: 'status' }, `Every call from ${range.from} to ${range.to} was priced.`));

  const day = today();
  // The entry in force today per (provider, model): the latest effective_from <= today.
  const inForce = new Map();
  for (const e of list.data) {
    const k = `${e.provider}/${e.model}`;
    if (e.effective_from <= day && (!inForce.has(k) || inForce.get(k).effective_from < e.effective_from || (inForce.get(k).effective_from === e.effective_from && e.origin === 'override'))) inForce.set(k, e);
  }
  const statusOf = (e) => (e.effective_from > day ? 'scheduled' : inForce.get(`${e.provider}/${e.model}`) === e ? 'in force' : 'superseded');
  const body = h('div');
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const rows = list.data.filter((e) => !q || `${e.provider}/${e.model}`.toLowerCase().includes(q));
    body.replaceChildren(h('p', { class: 'muted', role: 'status' }, `${formatCount(rows.length)} of ${formatCount(list.data.length)} entries`),
      table('Price list', [
        ['Provider', (e) => e.provider],
        ['Model', (e) => h('code', {}, e.model)],
        ['From', (e) => e.effective_from],
        ['Status', (e) => h('span', { class: `tag ${statusOf(e) === 'in force' ? 'ok' : ''}` }, statusOf(e))],
        ['Origin', (e) => e.origin ?? 'registry'],
        ['Input', (e) => e.standard?.input ?? '–', { num: true }],
        ['Cached input', (e) => e.standard?.cached_input ?? '–', { num: true }],
        ['Output', (e) => e.standard?.output ?? '–', { num: true }],
        ['Other rates and tiers', (e) => [...Object.keys(e.standard ?? {}).filter((k) => !MAIN_RATES.includes(k)), ...TIERS.filter((k) => e[k] !== undefined)].map(humanize).join(', ')],
      ], rows, (e) => ({ dataset: { model: e.model, provider: e.provider, from: e.effective_from } })));
  };
  main.append(h('p', { class: 'muted' }, `Price list ${list.price_version}: ${formatCount(list.registry_entries)} registry entries, ${formatCount(list.overrides)} overrides.`),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'f-search' }, 'Find a model'), search)), body);
  search.addEventListener('input', draw);
  draw();
}
