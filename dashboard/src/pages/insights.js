// Insights: the daily cards the cron stored. Each payload is shown generically (a sentence
// when it has one, then its numbers), so a new type of insight shows without a change here.
import { h } from '../dom.js';
import { get } from '../api.js';
import { formatCount, formatUsd, humanize, nanoToUsd } from '../format.js';
import { loading, empty, rangeOf, rangeForm, pageHeader, pager } from '../ui.js';

const SEVERITIES = [['', 'any'], ['critical', 'critical'], ['warning', 'warning'], ['info', 'info']];
const SENTENCE_KEYS = ['explanation', 'message', 'summary', 'text', 'description'];
const TITLE_KEYS = ['title', 'headline'];

export async function insights(main, ctx) {
  const p = ctx.params;
  const range = rangeOf(p);
  const severity = h('select', { id: 'f-severity', dataset: { param: 'severity' } },
    SEVERITIES.map(([v, l]) => h('option', { value: v, selected: v === (p.get('severity') ?? '') }, l)));
  main.append(pageHeader('Insights', h('p', { class: 'muted' }, 'What the daily job found, newest day first, the most severe first.')),
    rangeForm('insights', p, range, h('div', { class: 'field' }, h('label', { for: 'f-severity' }, 'Severity'), severity)));
  const state = main.appendChild(loading('insights'));
  const page = await get('/insights/daily', { from: range.from, to: range.apiTo, severity: p.get('severity') ?? '', limit: 60, cursor: p.get('cursor') ?? '' });
  if (!ctx.alive()) return;
  state.remove();
  if (page.data.length === 0) {
    main.append(empty(`No insights from ${range.from} to ${range.to} yet.`,
      'The daily job writes them for each day that had calls, shortly after the day ends (UTC). Choose a wider range, or come back tomorrow.'));
    return;
  }
  main.append(h('ul', { class: 'insights', 'aria-label': 'Insights' }, page.data.map(card)), pager('insights', p, page.next_cursor, 'Insights') ?? '');
}

function card(i) {
  const payload = i.payload && typeof i.payload === 'object' && !Array.isArray(i.payload) ? i.payload : { value: i.payload };
  const sentence = SENTENCE_KEYS.map((k) => payload[k]).find((v) => typeof v === 'string');
  const title = TITLE_KEYS.map((k) => payload[k]).find((v) => typeof v === 'string') ?? humanize(i.type);
  const rest = Object.entries(payload).filter(([k]) => !SENTENCE_KEYS.includes(k) && !TITLE_KEYS.includes(k));
  return h('li', { class: `card insight sev-${i.severity}`, dataset: { insight: i.id, type: i.type, severity: i.severity } },
    h('div', { class: 'insight-head' },
      h('h2', {}, title),
      h('span', { class: `badge sev-${i.severity}` }, i.severity)),
    h('p', { class: 'muted small' }, i.day, i.customer_id ? ` · customer ${i.customer_id}` : ' · whole tenant', ` · ${i.type}`),
    sentence ? h('p', { class: 'sentence' }, sentence) : null,
    rest.length ? numbers(rest) : null);
}

function numbers(entries) {
  return h('dl', { class: 'numbers' }, entries.map(([k, v]) => [h('dt', {}, humanize(k)), h('dd', { dataset: { field: k } }, value(k, v))]));
}

/** One payload value: money by its name, lists of records as small tables, the rest as text. */
function value(key, v) {
  if (v === null || v === undefined) return '–';
  if (Array.isArray(v)) {
    if (v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      const cols = [...new Set(v.flatMap((x) => Object.keys(x)))];
      return h('table', { class: 'mini' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, humanize(c))))),
        h('tbody', {}, v.map((x) => h('tr', {}, cols.map((c) => h('td', {}, value(c, x[c])))))));
    }
    return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  }
  if (typeof v === 'object') return numbers(Object.entries(v));
  if (/(^|_)usd$/.test(key) && /^\d+(\.\d+)?$/.test(String(v))) return formatUsd(String(v).replace(/^(\d+\.\d{1,9})\d*$/, '$1'));
  if (/nanousd$/.test(key) && /^\d+$/.test(String(v))) return formatUsd(nanoToUsd(BigInt(v)));
  if (/(pct|percent)$/.test(key) && typeof v === 'number') return `${v}%`;
  if (/ratio$/.test(key) && typeof v === 'number') return `${(v * 100).toFixed(1)}%`;
  if (typeof v === 'number' && Number.isInteger(v)) return formatCount(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}
