// Shared pieces of the pages: loading, empty and error states, money cells, tables, the
// date range form and the pager.
import { h } from './dom.js';
import { session } from './api.js';
import { addDays, dayCount, formatUsd, isDay, today } from './format.js';

export function loading(what) {
  return h('p', { class: 'state loading', role: 'status', 'aria-live': 'polite' }, `Loading ${what}…`);
}

export function empty(title, ...advice) {
  return h('div', { class: 'state empty', role: 'status', dataset: { state: 'empty' } },
    h('p', { class: 'state-title' }, title), advice.map((a) => h('p', {}, a)));
}

/** An error, saying what to do about it. */
export function errorState(e, what) {
  let title = `Could not load ${what}.`;
  let advice = e.message;
  if (e.status === 401) {
    title = 'This key was not accepted.';
    advice = 'It may be mistyped, revoked, expired or rotated out. Sign out and enter a key with the read scope.';
  } else if (e.status === 403) {
    title = 'This key cannot read.';
    advice = 'It lacks the read scope. Create a key with "scopes": ["read"] (see the README) and sign in with it.';
  } else if (e.status === 404) {
    title = `Nothing found for ${what}.`;
    advice = session.bound
      ? 'It does not exist, or this key cannot see it.'
      : `It does not exist for tenant ${session.tenant}, or this key cannot see it. Check the tenant name.`;
  } else if (e.status === 400) {
    title = `The request for ${what} was refused.`;
  } else if (e.status >= 500) {
    title = `The worker failed while loading ${what}.`;
    advice = `${e.message} Check the worker's log, then reload.`;
  }
  const box = h('div', { class: 'state error', role: 'alert', dataset: { state: 'error', code: e.code ?? '' } },
    h('p', { class: 'state-title' }, title), h('p', {}, advice));
  if (e.status === 401 || e.status === 403) {
    box.append(h('p', {}, h('button', { type: 'button', class: 'button', onclick: () => window.dispatchEvent(new Event('llmobserve:signout')) }, 'Sign out and enter another key')));
  }
  return box;
}

/** A cost cell: rounded for reading, the exact amount in the title and data-usd. */
export function money(usd, tag = 'span') {
  return h(tag, { class: usd === null ? 'money unpriced' : 'money', title: usd === null ? 'unpriced: no cost recorded' : `$${usd} exactly`, dataset: { usd: usd ?? 'unpriced' } }, formatUsd(usd));
}

/**
 * A table: `columns` are [header, cell(row) => node|string, { num, nowrap }], rows get `rowAttrs(row)`.
 * Wrapped so that it scrolls sideways on a narrow screen instead of overflowing the page.
 */
export function table(caption, columns, rows, rowAttrs = () => ({})) {
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, columns.map(([label, , o]) => h('th', { scope: 'col', class: o?.num ? 'num' : null }, label)))),
      h('tbody', {}, rows.map((r) => h('tr', rowAttrs(r), columns.map(([, cell, o]) => h('td', { class: o?.num ? 'num' : o?.nowrap ? 'nowrap' : null }, cell(r))))))));
}

/** The range of a page, from its hash parameters: UTC days, both included; 30 days by default. */
export function rangeOf(params, days = 30) {
  const to = isDay(params.get('to')) ? params.get('to') : today();
  const from = isDay(params.get('from')) && params.get('from') <= to ? params.get('from') : addDays(to, -(days - 1));
  return { from, to, days: dayCount(from, to), apiFrom: from, apiTo: addDays(to, 1) };
}

/** The hash of a page with some parameters changed (empty values dropped). */
export function hrefWith(page, params, changes) {
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') p.delete(k);
    else p.set(k, v);
  }
  const q = p.toString();
  return `#/${page}${q ? `?${q}` : ''}`;
}

/** From/to day inputs with quick ranges; submitting navigates. */
export function rangeForm(page, params, range, extra = []) {
  const from = h('input', { type: 'date', id: 'range-from', name: 'from', value: range.from, required: true });
  const to = h('input', { type: 'date', id: 'range-to', name: 'to', value: range.to, required: true });
  const form = h('form', { class: 'filters', 'aria-label': 'Date range' },
    h('div', { class: 'field' }, h('label', { for: 'range-from' }, 'From (UTC day)'), from),
    h('div', { class: 'field' }, h('label', { for: 'range-to' }, 'To (UTC day, included)'), to),
    extra,
    h('div', { class: 'field actions' }, h('button', { type: 'submit', class: 'button' }, 'Apply')),
    h('div', { class: 'quick', role: 'group', 'aria-label': 'Quick ranges' },
      [7, 30, 90].map((n) => h('a', { href: hrefWith(page, params, { from: addDays(today(), -(n - 1)), to: today(), cursor: null }) }, `Last ${n} days`))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const changes = { from: from.value, to: to.value, cursor: null };
    for (const el of form.querySelectorAll('[data-param]')) changes[el.dataset.param] = el.value;
    location.hash = hrefWith(page, params, changes);
  });
  return form;
}

/**
 * Previous/next links for cursor pages. The cursors already visited are kept in memory,
 * keyed by the page's other parameters, so "Previous" returns to the same page.
 */
const visited = new Map();
export function pager(page, params, nextCursor, label) {
  const base = new URLSearchParams(params);
  const cursor = base.get('cursor');
  base.delete('cursor');
  const trail = visited.get(`${page}?${base}`) ?? [];
  const at = cursor ? trail.indexOf(cursor) : -1;
  const prev = cursor ? (at > 0 ? trail[at - 1] : '') : null;
  if (!cursor && !nextCursor) return null;
  const nav = h('nav', { class: 'pager', 'aria-label': `${label} pages` });
  if (prev !== null) nav.append(h('a', { href: hrefWith(page, params, { cursor: prev }), rel: 'prev' }, '← Previous'));
  if (!cursor || at >= 0) nav.append(h('span', { class: 'muted' }, `Page ${at + 2}`));
  if (nextCursor) {
    nav.append(h('a', { href: hrefWith(page, params, { cursor: nextCursor }), rel: 'next', onclick: () => {
      const t = at >= 0 ? trail.slice(0, at + 1) : [];
      t.push(nextCursor);
      visited.set(`${page}?${base}`, t);
    } }, 'Next →'));
  }
  return nav;
}

export function pageHeader(title, ...rest) {
  return h('header', { class: 'page-header' }, h('h1', { tabindex: -1, id: 'page-title' }, title), rest);
}
