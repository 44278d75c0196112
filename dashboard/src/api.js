// The read API, as the dashboard calls it. The key lives in this browser only (session
// storage, or local storage when the user asks to be remembered) and travels only in the
// Authorization header of same-origin requests: never in a URL.

const KEY = 'llmobserve.key';
const TENANT = 'llmobserve.tenant';
const WHO = 'llmobserve.who';

export class ApiError extends Error {
  constructor(status, code, message, param) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

export const session = {
  key: null,
  /** The tenant being read: the key's own when it is bound, else the one the user typed. */
  tenant: null,
  /** Set when the key is bound to one customer. */
  customer: null,
  /** true: the key is bound to its tenant, and the UI never asks for another. */
  bound: false,
};

export function loadKey() {
  session.key = sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
  return session.key;
}

export function saveKey(key, remember) {
  forget();
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
  session.key = key;
}

export function forget() {
  for (const s of [sessionStorage, localStorage]) { s.removeItem(KEY); s.removeItem(TENANT); s.removeItem(WHO); }
  Object.assign(session, { key: null, tenant: null, customer: null, bound: false });
}

export function savedTenant() {
  return sessionStorage.getItem(TENANT);
}

export function chooseTenant(tenant) {
  sessionStorage.setItem(TENANT, tenant);
  session.tenant = tenant;
}

/**
 * GET a read endpoint. `params` with empty values are left out; an unbound key names the
 * tenant with tenant_id (a bound key never does: the server takes it from the key).
 */
export async function get(path, params = {}, { tenant = true } = {}) {
  const url = new URL(path, location.origin);
  const all = { ...params };
  if (tenant && !session.bound && session.tenant) all.tenant_id = session.tenant;
  for (const [k, v] of Object.entries(all)) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  let r;
  try {
    r = await fetch(url, { headers: { authorization: `Bearer ${session.key}` }, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `Could not reach the worker at ${location.origin} (${e.message}). Check that it is running (make dev) and reload.`);
  }
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  if (!r.ok) {
    const e = body?.error ?? {};
    throw new ApiError(r.status, e.code ?? `http_${r.status}`, e.message ?? `${r.status} ${r.statusText}`, e.param ?? null);
  }
  if (body === undefined) throw new ApiError(r.status, 'not_json', `${path} did not answer JSON.`);
  return body;
}

/**
 * Who the key is: bound to a tenant (and maybe a customer), or unbound. The smallest read,
 * /runs/latest?limit=1 without a tenant, tells: a bound key answers with its tenant, an
 * unbound one gets 400 tenant_required.
 */
export async function identify() {
  try {
    const page = await get('/runs/latest', { limit: 1 }, { tenant: false });
    Object.assign(session, { bound: true, tenant: page.tenant_id, customer: page.customer_id });
  } catch (e) {
    if (!(e.status === 400 && e.code === 'tenant_required')) throw e;
    Object.assign(session, { bound: false, tenant: savedTenant(), customer: null });
  }
  const store = localStorage.getItem(KEY) === session.key ? localStorage : sessionStorage;
  store.setItem(WHO, JSON.stringify({ bound: session.bound, tenant: session.bound ? session.tenant : null, customer: session.customer }));
}

/**
 * What identify() found earlier (kept with the key), so that a reload shows data without waiting
 * for it (it runs again alongside, and a key that stopped working still signs out).
 */
export function rememberedIdentity() {
  try {
    const who = JSON.parse(sessionStorage.getItem(WHO) ?? localStorage.getItem(WHO) ?? 'null');
    if (!who || typeof who.bound !== 'boolean') return false;
    Object.assign(session, { bound: who.bound, tenant: who.bound ? who.tenant : savedTenant(), customer: who.customer ?? null });
    return true;
  } catch {
    return false;
  }
}
