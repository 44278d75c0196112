'use strict';
// llmobserve for Node.js: the JavaScript layer over the Rust rules (./wasm, compiled from
// sdk-wasm/src). It holds only what must be JavaScript: the per-request store
// (AsyncLocalStorage), the server middlewares, fetch, timers and the report queue. Every
// rule (validation, section paths, header encoding, run ids, retry numbering and backoff,
// event checks) is a call into the wasm module, the same code the gateway runs.
//
// Invariant: a request's context lives only in its own AsyncLocalStorage store, entered by
// withRun() or a middleware; code of one request can never read or change another's.

const { AsyncLocalStorage } = require('node:async_hooks');
const { webcrypto } = require('node:crypto');
const core = require('./wasm/llmobserve_sdk.js');

class LlmobserveError extends Error {
  constructor(message, details) {
    super(message);
    this.name = 'LlmobserveError';
    if (details !== undefined) this.details = details;
  }
}

/** Calls a Rust rule, turning its error into an LlmobserveError with the same message. */
function rule(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    throw new LlmobserveError(e instanceof Error ? e.message : String(e));
  }
}

const opt = (v) => (v === null ? undefined : v);
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const jitter = () => webcrypto.getRandomValues(new Uint32Array(1))[0];
const newRunId = () => rule(core.newRunId, Date.now(), random(10));

// ---------------------------------------------------------------------------------------
// The context store.
//
// A store is { run, section }: `run` ({ tenantId, customerId, runId, properties }) is shared
// by the whole request and changed by setTenantId/setCustomerId/setProperty; `section` is the path of the code
// that entered it, and ends when that code's callback returns.

const als = new AsyncLocalStorage();
/** The context of code that runs outside any request: scripts, jobs, startup. */
const processScope = { run: { tenantId: null, customerId: null, runId: newRunId(), properties: null }, section: null };
let middlewareInUse = false;
let warnedOutsideRequest = false;

function currentScope() {
  const s = als.getStore();
  if (s) return s;
  if (middlewareInUse && !warnedOutsideRequest) {
    warnedOutsideRequest = true;
    process.emitWarning(
      'llmobserve: code ran outside any request context although a middleware is installed; ' +
      'it is attributed to the process-wide context. Install the middleware before the routes ' +
      'and after body parsers, or wrap the work in withRun().', { code: 'LLMOBSERVE_NO_REQUEST_CONTEXT' });
  }
  return processScope;
}

function newScope(init = {}) {
  if (init === null || typeof init !== 'object') throw new LlmobserveError('the run context must be an object');
  const { tenantId, customerId, runId, properties } = init;
  return {
    run: {
      tenantId: tenantId == null ? null : rule(core.checkTenantId, tenantId),
      customerId: customerId == null ? null : rule(core.checkCustomerId, customerId),
      runId: runId == null ? newRunId() : rule(core.checkRunId, runId),
      properties: properties == null ? null : checkedProperties(properties),
    },
    section: null,
  };
}

/** Runs `fn` as a new run: a fresh context (no section) and a new run id unless given. */
function withRun(init, fn) {
  if (typeof init === 'function') return als.run(newScope(), init);
  return als.run(newScope(init), fn);
}

/** Sets the tenant of the current run (`null` clears it). */
function setTenantId(tenantId) {
  currentScope().run.tenantId = tenantId == null ? null : rule(core.checkTenantId, tenantId);
}

/** Sets the customer of the current run (`null` clears it). */
function setCustomerId(customerId) {
  currentScope().run.customerId = customerId == null ? null : rule(core.checkCustomerId, customerId);
}

/** Properties (an object of strings) as the gateway will accept them: names lower-cased. */
function checkedProperties(properties) {
  if (typeof properties !== 'object' || Array.isArray(properties)) throw new LlmobserveError('properties must be an object of strings');
  const json = rule(core.checkProperties, JSON.stringify(properties));
  return Object.keys(JSON.parse(json)).length ? json : null;
}

/**
 * Sets a free-form property of the current run (`null` removes it): every call of the run
 * sends it as `x-llmobserve-property-<name>`, and reported events carry it. Names are
 * 1 to 64 of a-z 0-9 _ - (lower-cased), values 1 to 256 printable ASCII characters; at
 * most 16 properties.
 */
function setProperty(name, value) {
  if (typeof name !== 'string') throw new LlmobserveError('setProperty(name, value): name must be a string');
  if (value != null && typeof value !== 'string') throw new LlmobserveError(`setProperty(name, value): the value of ${JSON.stringify(name)} must be a string or null`);
  const run = currentScope().run;
  const props = run.properties ? JSON.parse(run.properties) : {};
  const key = name.toLowerCase();
  delete props[key];
  if (value != null) props[key] = value;
  run.properties = checkedProperties(props);
}

/** Runs `fn` one section deeper; async work started inside stays in the section. */
function section(name, fn) {
  if (typeof fn !== 'function') throw new TypeError('section(name, fn): fn must be a function');
  const s = currentScope();
  const child = rule(core.childSection, opt(s.section), name);
  return als.run({ run: s.run, section: child }, fn);
}

/** The current context, as a frozen snapshot. */
function getContext() {
  const s = currentScope();
  return Object.freeze({
    tenantId: s.run.tenantId,
    customerId: s.run.customerId,
    sectionPath: s.section,
    runId: s.run.runId,
    attempt: rule(core.sectionAttempt, opt(s.section)) ?? null,
    properties: Object.freeze(s.run.properties ? JSON.parse(s.run.properties) : {}),
  });
}

/** The x-llmobserve-* headers of the current context, as a plain object. */
function getHeaders() {
  const s = currentScope();
  const flat = rule(core.contextHeaders, opt(s.run.tenantId), opt(s.run.customerId), opt(s.section), opt(s.run.runId),
    opt(s.run.properties));
  const out = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

// ---------------------------------------------------------------------------------------
// Retry blocks.

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

function headerOf(headers, name) {
  if (!headers) return undefined;
  const v = typeof headers.get === 'function' ? headers.get(name) : headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** What a failure says about itself: its HTTP status and retry-after headers, if any. */
function failureOf(err) {
  const status = [err?.status, err?.statusCode, err?.response?.status].find(Number.isInteger);
  const headers = err?.headers ?? err?.response?.headers;
  const connection = status === undefined && (
    /Connection|Timeout/.test(err?.name ?? '') ||
    (err instanceof TypeError && err.message === 'fetch failed') ||
    CONNECTION_CODES.has(err?.code) || CONNECTION_CODES.has(err?.cause?.code));
  return { status, connection, retryAfterMs: headerOf(headers, 'retry-after-ms'), retryAfter: headerOf(headers, 'retry-after') };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn({ attempt, sectionPath })` inside the section `retry:<name>:attempt_<n>` for
 * n = 1, 2, ... until it succeeds or the attempts are used up. Retried: HTTP 408, 409, 429
 * and 5xx (thrown errors with a `status`, or a returned fetch Response) and connection
 * errors; `retryOn(err, attempt)` overrides that choice for thrown errors.
 */
async function retryBlock(name, fn, options = {}) {
  if (typeof fn !== 'function') throw new TypeError('retryBlock(name, fn, options): fn must be a function');
  const { maxAttempts = 3, baseDelayMs = 500, maxDelayMs = 30_000, retryOn } = options;
  rule(core.checkRetryPolicy, maxAttempts, baseDelayMs, maxDelayMs);
  const s = currentScope();
  rule(core.retrySection, opt(s.section), name, maxAttempts); // a bad name fails before any attempt
  const delayAfter = (attempt, status, f) => rule(core.retryDelayMs, maxAttempts, baseDelayMs, maxDelayMs,
    attempt, status, f.retryAfterMs, f.retryAfter, jitter());
  for (let attempt = 1; ; attempt++) {
    const sectionPath = rule(core.retrySection, opt(s.section), name, attempt);
    let delay;
    try {
      const result = await als.run({ run: s.run, section: sectionPath }, () => fn({ attempt, sectionPath }));
      if (!(typeof Response !== 'undefined' && result instanceof Response) || result.ok) return result;
      delay = delayAfter(attempt, result.status, { retryAfterMs: headerOf(result.headers, 'retry-after-ms'), retryAfter: headerOf(result.headers, 'retry-after') });
      if (delay < 0) return result;
      await result.body?.cancel().catch(() => {});
    } catch (err) {
      const f = failureOf(err);
      if (retryOn) {
        delay = retryOn(err, attempt) ? delayAfter(attempt, 0, f) : -1;
      } else if (f.status !== undefined || f.connection) {
        delay = delayAfter(attempt, f.status ?? 0, f);
      } else {
        delay = -1; // not a transient failure that we can recognise: a bug is not retried
      }
      if (delay < 0) throw err;
    }
    await sleep(delay);
  }
}

// ---------------------------------------------------------------------------------------
// Configuration, fetch and the openai client.

let config = null;

/**
 * Points the SDK at a gateway: `observe({ gatewayUrl, apiKey })`. `apiKey` is a gateway key
 * with the ingest scope. For pass-through mode also give `openaiApiKey` (your own key).
 */
function observe(options = {}) {
  const { gatewayUrl, apiKey, openaiApiKey, batchSize = 100, flushIntervalMs = 1000, fetch: baseFetch, onError } = options;
  let url;
  try {
    url = new URL(String(gatewayUrl));
  } catch {
    throw new LlmobserveError(`gatewayUrl must be a URL such as http://127.0.0.1:8787, got ${JSON.stringify(gatewayUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LlmobserveError('gatewayUrl must be http or https');
  if (typeof apiKey !== 'string' || !core.looksLikeGatewayKey(apiKey)) {
    throw new LlmobserveError('apiKey must be a gateway key: llmo_ and 64 hex digits (POST /admin/keys makes one)');
  }
  const max = core.maxBatchEvents();
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > max) throw new LlmobserveError(`batchSize must be a whole number from 1 to ${max}`);
  if (!Number.isInteger(flushIntervalMs) || flushIntervalMs < 0) throw new LlmobserveError('flushIntervalMs must be a whole number of milliseconds');
  if (baseFetch !== undefined && typeof baseFetch !== 'function') throw new LlmobserveError('fetch must be a function');
  if (onError !== undefined && typeof onError !== 'function') throw new LlmobserveError('onError must be a function');
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
  config = {
    gatewayUrl: base,
    origin: url.origin,
    apiKey,
    openaiApiKey: typeof openaiApiKey === 'string' ? openaiApiKey : undefined,
    batchSize,
    flushIntervalMs,
    fetch: baseFetch,
    onError: onError ?? ((err) => process.emitWarning(err.message, { code: 'LLMOBSERVE_REPORT_FAILED' })),
  };
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('beforeExit', () => { if (queue.length > 0) flushInBackground(); });
  }
}

function requireConfig(what) {
  if (!config) throw new LlmobserveError(`${what} needs observe({ gatewayUrl, apiKey }) first`);
  return config;
}

const baseFetchOf = () => config?.fetch ?? globalThis.fetch;

function urlOf(input) {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  return input?.url;
}

/**
 * fetch with the current context's x-llmobserve-* headers, for calls to the gateway (other
 * hosts get no llmobserve header). Headers the call sets itself win.
 */
function llmobserveFetch(input, init) {
  const base = baseFetchOf();
  if (config) {
    let origin;
    try { origin = new URL(urlOf(input)).origin; } catch { origin = undefined; }
    if (origin !== config.origin) return base(input, init);
  }
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  for (const [k, v] of Object.entries(getHeaders())) if (!headers.has(k)) headers.set(k, v);
  return base(input, { ...init, headers });
}

/**
 * Options for the official openai client: `new OpenAI(openaiOptions())` sends every call
 * through the gateway with the current context's headers.
 */
function openaiOptions() {
  const c = requireConfig('openaiOptions()');
  const o = { baseURL: `${c.gatewayUrl}/v1`, fetch: llmobserveFetch };
  if (c.openaiApiKey) {
    o.apiKey = c.openaiApiKey;
    o.defaultHeaders = { 'x-llmobserve-key': c.apiKey };
  } else {
    o.apiKey = c.apiKey;
  }
  return o;
}

// ---------------------------------------------------------------------------------------
// Reporting to the collector (POST /v1/events).

let queue = [];
let timer = null;
let sending = Promise.resolve();
let exitHookInstalled = false;

/**
 * Queues one event for the collector (docs/collector.md) and returns its id. It is checked
 * now (a mistake throws here) and completed from the current context. Sent in batches; the
 * queue is flushed when the process is about to exit.
 */
function report(event) {
  const c = requireConfig('report()');
  const s = currentScope();
  // The run's properties, under the event's own.
  if (s.run.properties && event && typeof event === 'object' && !Array.isArray(event)) {
    const own = event.properties && typeof event.properties === 'object' ? event.properties : {};
    event = { ...event, properties: { ...JSON.parse(s.run.properties), ...own } };
  }
  const json = rule(core.prepareEvent, JSON.stringify(event ?? null), opt(s.run.tenantId), opt(s.run.customerId),
    opt(s.section), opt(s.run.runId), Date.now(), random(10));
  queue.push(json);
  if (queue.length >= c.batchSize) {
    flushInBackground();
  } else if (!timer) {
    timer = setTimeout(flushInBackground, c.flushIntervalMs);
    timer.unref();
  }
  return JSON.parse(json).id;
}

/** Sends every queued event now; resolves once they are sent or given up on (see onError). */
function flush() {
  if (timer) { clearTimeout(timer); timer = null; }
  const batches = [];
  const max = core.maxBatchEvents();
  while (queue.length > 0) batches.push(queue.splice(0, max));
  const run = sending.then(async () => { for (const b of batches) await sendBatch(b); });
  sending = run.catch(() => {});
  return run;
}

/** A flush nobody awaits: failures have gone to onError already; only a throwing onError is left. */
function flushInBackground() {
  flush().catch(() => {});
}

async function sendBatch(batch) {
  const c = config;
  const body = rule(core.batchBody, batch);
  for (let attempt = 1; ; attempt++) {
    let res;
    let failure;
    try {
      res = await baseFetchOf()(`${c.gatewayUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.apiKey}`, 'content-type': 'application/json' },
        body,
      });
    } catch (err) {
      failure = err;
    }
    if (res?.ok) {
      const out = await res.json().catch(() => null);
      if (out?.rejected?.length > 0) {
        c.onError(new LlmobserveError(`the collector rejected ${out.rejected.length} of ${batch.length} event(s): ` +
          out.rejected.map((r) => r.error?.message ?? r.error?.code).join('; '), { rejected: out.rejected }));
      }
      return;
    }
    // Ids make a resent batch idempotent, so transient failures are retried.
    const delay = rule(core.retryDelayMs, 4, 250, 5000, attempt, res?.status ?? 0,
      headerOf(res?.headers, 'retry-after-ms'), headerOf(res?.headers, 'retry-after'), jitter());
    if (delay < 0) {
      const why = res ? `HTTP ${res.status}: ${(await res.text().catch(() => '')).slice(0, 500)}` : String(failure?.message ?? failure);
      c.onError(new LlmobserveError(`could not report ${batch.length} event(s) to ${c.gatewayUrl}/v1/events: ${why}`,
        { status: res?.status, events: batch.length }));
      return;
    }
    await res?.body?.cancel().catch(() => {});
    await sleep(delay);
  }
}

// ---------------------------------------------------------------------------------------
// Server middlewares: each request starts with a fresh context and a new run id.

function startRequest(options, req) {
  middlewareInUse = true;
  return newScope(options.context ? options.context(req) ?? {} : {});
}

/**
 * Express middleware: `app.use(expressMiddleware())`. `context(req)` may return
 * `{ tenantId, customerId, runId }` for the request; a bad value goes to next(err).
 */
function expressMiddleware(options = {}) {
  return function llmobserveExpress(req, res, next) {
    let scope;
    try {
      scope = startRequest(options, req);
    } catch (err) {
      next(err);
      return;
    }
    als.run(scope, next);
  };
}

/**
 * Wraps a Node http request listener: `http.createServer(httpHandler((req, res) => ...))`.
 * A bad value from `context(req)` is answered with a 400.
 */
function httpHandler(handler, options = {}) {
  if (typeof handler !== 'function') throw new TypeError('httpHandler(handler): handler must be a function');
  return function llmobserveHttp(req, res) {
    let scope;
    try {
      scope = startRequest(options, req);
    } catch (err) {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`${err.message}\n`);
      return undefined;
    }
    return als.run(scope, () => handler(req, res));
  };
}

module.exports = {
  observe,
  setTenantId,
  setCustomerId,
  setProperty,
  section,
  retryBlock,
  getContext,
  getHeaders,
  withRun,
  fetch: llmobserveFetch,
  openaiOptions,
  report,
  flush,
  expressMiddleware,
  httpHandler,
  LlmobserveError,
};
