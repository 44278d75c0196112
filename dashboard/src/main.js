// The dashboard: sign-in, the tenant, the layout and the hash router. Routes:
// #/overview, #/runs, #/run/<id>, #/customers, #/insights, #/pricing, each with its
// filters as hash parameters. The key is never part of a route.
import { h, clear } from './dom.js';
import { session, loadKey, saveKey, forget, identify, rememberedIdentity, chooseTenant, ApiError } from './api.js';
import { errorState } from './ui.js';
import { overview } from './pages/overview.js';
import { runs } from './pages/runs.js';
import { run } from './pages/run.js';
import { customers } from './pages/customers.js';
import { insights } from './pages/insights.js';
import { pricing } from './pages/pricing.js';

const PAGES = [
  ['overview', 'Overview', overview],
  ['runs', 'Runs', runs],
  ['customers', 'Customers', customers],
  ['insights', 'Insights', insights],
  ['pricing', 'Pricing', pricing],
];
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;

const app = document.getElementById('app');
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').map(decodeURIComponent);
  return { page: parts[0] || 'overview', arg: parts.slice(1).join('/'), params: new URLSearchParams(query) };
}

function signIn(message) {
  clear(app);
  const key = h('input', { type: 'password', id: 'key', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'key-help' });
  const remember = h('input', { type: 'checkbox', id: 'remember' });
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'llmobserve'),
    h('p', {}, 'Spend, runs and insights of your LLM calls. Sign in with a read key.'),
    message ? h('div', { class: 'state error', role: 'alert', dataset: { state: 'error' } }, message) : null,
    h('div', { class: 'field' }, h('label', { for: 'key' }, 'Read key or admin token'), key),
    h('p', { id: 'key-help', class: 'muted small' },
      'A key with the read scope (llmo_…). It stays in this browser and is sent only in the Authorization header to this worker, never in a URL.'),
    h('div', { class: 'field check' }, remember, h('label', { for: 'remember' }, 'Remember on this device')),
    h('button', { type: 'submit', class: 'button primary' }, 'Sign in'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveKey(key.value.trim(), remember.checked);
    start();
  });
  app.append(h('main', { id: 'main', class: 'center' }, form));
  key.focus();
}

function tenantForm(container, { compact = false } = {}) {
  const input = h('input', { id: compact ? 'tenant-switch' : 'tenant', name: 'tenant', required: true, pattern: TENANT_RE.source, value: session.tenant ?? '', spellcheck: 'false', autocomplete: 'off' });
  const form = h('form', { class: compact ? 'tenant-switch' : 'card', 'aria-label': 'Tenant' },
    compact ? null : h('h1', {}, 'Which tenant?'),
    compact ? null : h('p', {}, 'This key is not bound to a tenant, so it can read any tenant you name. Names are not listed: type the tenant id your application sends in x-llmobserve-tenant.'),
    h('div', { class: 'field' }, h('label', { for: input.id }, compact ? 'Tenant' : 'Tenant id'), input),
    h('button', { type: 'submit', class: 'button' }, compact ? 'Switch' : 'Open'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    chooseTenant(input.value.trim());
    layout();
    route();
  });
  container.append(form);
  return input;
}

function layout() {
  clear(app);
  const who = session.bound
    ? h('p', { class: 'who', dataset: { tenant: session.tenant } }, session.customer
      ? ['Customer ', h('strong', {}, session.customer), ' of ', h('strong', {}, session.tenant)]
      : ['Tenant ', h('strong', {}, session.tenant)])
    : h('div', { class: 'who' });
  if (!session.bound) tenantForm(who, { compact: true });
  app.append(
    h('a', { class: 'skip', href: '#main', onclick: (ev) => { ev.preventDefault(); document.getElementById('page-title')?.focus(); } }, 'Skip to content'),
    h('header', { class: 'top' },
      h('a', { class: 'brand', href: '#/overview' }, 'llmobserve'),
      h('nav', { 'aria-label': 'Pages' }, h('ul', {}, PAGES.map(([id, label]) => h('li', {}, h('a', { href: `#/${id}`, dataset: { page: id } }, label))))),
      who,
      h('button', { type: 'button', class: 'button subtle', onclick: signOut }, 'Sign out')),
    h('main', { id: 'main', tabindex: -1 }));
}

function signOut() {
  forget();
  history.replaceState(null, '', location.pathname);
  signIn();
}
window.addEventListener('llmobserve:signout', signOut);

async function route() {
  if (!session.key) return signIn();
  const main = document.getElementById('main');
  if (!main || !document.querySelector('header.top')) return;
  const mine = ++generation;
  const { page, arg, params } = parseHash();
  const current = page === 'run' ? 'runs' : page;
  for (const a of document.querySelectorAll('header.top nav a')) {
    if (a.dataset.page === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(main);
  if (!session.tenant) {
    tenantForm(main);
    return;
  }
  const entry = PAGES.find(([id]) => id === page);
  const render = page === 'run' ? run : entry?.[2];
  document.title = `${page === 'run' ? 'Run' : entry?.[1] ?? 'Not found'} · llmobserve`;
  if (!render) {
    main.append(h('h1', { id: 'page-title', tabindex: -1 }, 'No such page'), h('p', {}, h('a', { href: '#/overview' }, 'Go to the overview')));
    return;
  }
  const ctx = { params, arg, alive: () => mine === generation };
  try {
    await render(main, ctx);
  } catch (e) {
    if (!ctx.alive()) return;
    if (!(e instanceof ApiError)) console.error(e);
    main.append(errorState(e instanceof ApiError ? e : new ApiError(0, 'client', e.message), 'this page'));
  }
  if (ctx.alive() && document.activeElement === document.body && location.hash) document.getElementById('page-title')?.focus({ preventScroll: true });
}

async function start() {
  if (!loadKey()) return signIn();
  if (rememberedIdentity()) {
    // Shown at once; the key is checked again alongside.
    layout();
    route();
    identify().then(() => {}, (e) => { if (e.status === 401 || e.status === 403) refused(e); });
    return;
  }
  clear(app);
  app.append(h('p', { class: 'state loading', role: 'status' }, 'Checking the key…'));
  try {
    await identify();
  } catch (e) {
    if (e.status === 401 || e.status === 403) return refused(e);
    clear(app);
    app.append(h('main', { id: 'main' }, errorState(e, 'the dashboard'), h('p', {}, h('button', { type: 'button', class: 'button', onclick: start }, 'Retry'))));
    return;
  }
  layout();
  route();
}

function refused(e) {
  forget();
  signIn(e.status === 401
    ? 'This key was not accepted: it may be mistyped, revoked, expired or rotated out. Enter a key with the read scope.'
    : 'This key cannot read: it lacks the read scope. Create one with "scopes": ["read"] and enter it here.');
}

window.addEventListener('hashchange', route);
start();
