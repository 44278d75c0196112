// One run: its section tree with cost, tokens, latency, retries and cancelled streams per
// node. Nodes expand and collapse with their toggle button (keyboard: Tab, Enter/Space).
import { h, clear, append } from '../dom.js';
import { get } from '../api.js';
import { formatCount, formatMs, formatNano, formatTime, usdToNano } from '../format.js';
import { loading, money, pageHeader } from '../ui.js';
import { notes } from './runs.js';

export async function run(main, ctx) {
  const id = ctx.arg;
  main.append(pageHeader(`Run ${id}`, h('p', {}, h('a', { href: '#/runs' }, '← All runs'))));
  const state = main.appendChild(loading('the run'));
  let tree;
  try {
    tree = await get(`/runs/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) e.message = 'No run with this id for this tenant.';
    state.remove();
    throw e;
  }
  if (!ctx.alive()) return;
  state.remove();
  const t = tree.totals;
  const root = tree.tree;
  const cancelled = countCancelled(root);
  append(main, [h('section', { class: 'cards', 'aria-label': 'Run totals' },
    stat('cost', 'Cost', money(t.cost_usd)),
    stat('calls', 'Calls', formatCount(t.calls), `${formatCount(t.error_calls)} ${t.error_calls === 1 ? 'error' : 'errors'}, ${formatCount(t.unpriced_calls)} unpriced`),
    stat('tokens', 'Tokens', formatCount(t.total_tokens), `${formatCount(t.input_tokens)} in, ${formatCount(t.output_tokens)} out`),
    stat('wall', 'Wall time', formatMs(root.totals.wall_ms), `${formatTime(root.totals.started_at)}`),
    stat('retries', 'Retries', formatCount(root.totals.retries), `${formatNano(usdToNano(root.totals.wasted_cost_usd))} wasted`),
    stat('cancelled', 'Cancelled streams', formatCount(cancelled))),
    tree.truncated ? h('p', { class: 'state warn', role: 'note' }, `This run has more than ${formatCount(tree.event_limit)} calls: the tree shows the first ones; the totals above are exact.`) : null,
    tree.customers.length ? h('p', { class: 'muted' }, `Customers: ${tree.customers.join(', ')}`) : null]);

  const expanded = new Set(['']);
  const tbody = h('tbody');
  const grid = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Section tree' },
    h('table', { class: 'tree', dataset: { run: id } },
      h('caption', { class: 'visually-hidden' }, 'The run\'s section tree'),
      h('thead', {}, h('tr', {}, ['Section', 'Calls', 'Cost', 'Tokens in / out', 'LLM latency', 'Wall', 'Retries', 'Cancelled'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
      tbody));
  main.append(h('h2', {}, 'Section tree'),
    h('p', { class: 'toolbar' },
      h('button', { type: 'button', class: 'button subtle', onclick: () => { walk(root, (n) => expanded.add(n.path)); draw(); } }, 'Expand all'),
      h('button', { type: 'button', class: 'button subtle', onclick: () => { expanded.clear(); expanded.add(''); draw(); } }, 'Collapse all')),
    grid);

  function draw(focusPath) {
    clear(tbody);
    const rows = [];
    const visit = (node, depth) => {
      rows.push(nodeRow(node, depth));
      if (!expanded.has(node.path)) return;
      for (const c of node.calls) rows.push(callRow(c, depth + 1));
      for (const child of node.children) visit(child, depth + 1);
    };
    visit(root, 0);
    tbody.append(...rows);
    if (focusPath !== undefined) tbody.querySelector(`button[data-path="${CSS.escape(focusPath)}"]`)?.focus();
  }

  function nodeRow(node, depth) {
    const open = expanded.has(node.path);
    const hasContent = node.children.length > 0 || node.calls.length > 0;
    const n = node.totals;
    const name = node.path === '' ? `run ${id}` : node.name;
    const label = hasContent
      ? h('button', { type: 'button', class: 'toggle', 'aria-expanded': String(open), dataset: { path: node.path },
        onclick: () => { if (open) expanded.delete(node.path); else expanded.add(node.path); draw(node.path); } },
      h('span', { 'aria-hidden': 'true', class: 'caret' }, open ? '▾' : '▸'), ' ', name)
      : h('span', { class: 'leaf' }, name);
    return h('tr', { class: `node kind-${node.kind}${node.retry?.superseded ? ' superseded' : ''}`, dataset: { path: node.path, depth } },
      h('th', { scope: 'row', style: `padding-left:${0.5 + depth * 1.25}rem` }, label,
        node.kind !== 'run' && node.kind !== 'section' ? h('span', { class: 'tag' }, node.kind) : null,
        node.retry?.superseded ? h('span', { class: 'tag warn' }, 'superseded') : null),
      h('td', { class: 'num' }, formatCount(n.calls)),
      h('td', { class: 'num' }, money(n.cost_usd)),
      h('td', { class: 'num' }, `${formatCount(n.input_tokens)} / ${formatCount(n.output_tokens)}`),
      h('td', { class: 'num' }, formatMs(n.llm_latency_ms)),
      h('td', { class: 'num' }, formatMs(n.wall_ms)),
      h('td', { class: 'num', dataset: { retries: n.retries } }, n.retries ? [formatCount(n.retries), usdToNano(n.wasted_cost_usd) > 0n ? [' ', h('span', { class: 'muted small' }, `(${formatNano(usdToNano(n.wasted_cost_usd))} wasted)`)] : null] : '0'),
      h('td', { class: 'num' }, formatCount(countCancelled(node))));
  }

  function callRow(e, depth) {
    return h('tr', { class: 'call', dataset: { event: e.id } },
      h('td', { style: `padding-left:${0.5 + depth * 1.25}rem` }, h('span', { class: 'muted' }, `${formatTime(e.started_at).slice(11)} `), e.model ?? '–', ' ',
        h('span', { class: e.status_code >= 200 && e.status_code < 300 ? 'status ok' : 'status bad' }, String(e.status_code)), ' ', notes(e)),
      h('td', { class: 'num' }, '1'),
      h('td', { class: 'num' }, money(e.cost_usd)),
      h('td', { class: 'num' }, `${formatCount(e.usage?.input_tokens ?? 0)} / ${formatCount(e.usage?.output_tokens ?? 0)}`),
      h('td', { class: 'num' }, formatMs(e.latency_ms)),
      h('td', { class: 'num' }, ''),
      h('td', { class: 'num' }, e.is_retry ? `attempt ${e.attempt ?? '?'}` : ''),
      h('td', { class: 'num' }, e.outcome === 'stream_cancelled' ? 'yes' : ''));
  }

  draw();
}

function walk(node, f) {
  f(node);
  for (const c of node.children) walk(c, f);
}

/** Cancelled streams in a node's subtree (of the calls the tree holds). */
function countCancelled(node) {
  let n = 0;
  walk(node, (x) => { for (const c of x.calls) if (c.outcome === 'stream_cancelled') n += 1; });
  return n;
}

function stat(id, label, value, note) {
  return h('div', { class: 'card metric', dataset: { metric: id } },
    h('p', { class: 'metric-label' }, label), h('p', { class: 'metric-value' }, value), note ? h('p', { class: 'muted small' }, note) : null);
}
