// Types of the llmobserve npm package (CommonJS entry; index.d.mts re-exports them).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ObserveOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:8787` (a trailing `/v1` is fine). */
  gatewayUrl: string;
  /** A gateway key (`llmo_` + 64 hex digits) with the `ingest` scope. */
  apiKey: string;
  /** Pass-through mode: your own OpenAI key; the gateway key then goes in `x-llmobserve-key`. */
  openaiApiKey?: string;
  /** Events per `POST /v1/events` (1 to 1000; default 100). */
  batchSize?: number;
  /** Longest wait before queued events are sent, in ms (default 1000). */
  flushIntervalMs?: number;
  /** The fetch used underneath (default: the global fetch). */
  fetch?: typeof globalThis.fetch;
  /** Called when events could not be reported (default: a process warning). */
  onError?: (error: LlmobserveError) => void;
}

/** The context a run starts with. Each value is validated as the gateway validates it. */
export interface RunInit {
  tenantId?: string | null;
  customerId?: string | null;
  /** Default: a new time-ordered id (UUIDv7). */
  runId?: string | null;
  /** Free-form properties of the run, sent as `x-llmobserve-property-<name>`. */
  properties?: Record<string, string> | null;
}

export interface LlmobserveContext {
  readonly tenantId: string | null;
  readonly customerId: string | null;
  /** e.g. `agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2` */
  readonly sectionPath: string | null;
  readonly runId: string;
  /** The attempt number of the innermost retry section, if any. */
  readonly attempt: number | null;
  /** The run's properties (names lower-cased). */
  readonly properties: Readonly<Record<string, string>>;
}

export interface RetryAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** The section path of this attempt. */
  sectionPath: string;
}

export interface RetryOptions {
  /** 1 to 1000; default 3. */
  maxAttempts?: number;
  /** The first wait, doubled per attempt, with jitter; default 500 ms. */
  baseDelayMs?: number;
  /** The longest wait, also capping the server's retry-after; default 30000 ms. */
  maxDelayMs?: number;
  /** Whether a thrown error is worth another attempt (default: HTTP 408/409/429/5xx and connection errors). */
  retryOn?: (error: unknown, attempt: number) => boolean;
}

/** Token counts, as in docs/collector.md. */
export interface Usage {
  input_tokens?: number;
  cached_input_tokens?: number;
  output_tokens?: number;
  reasoning_tokens?: number;
  audio_input_tokens?: number;
  audio_output_tokens?: number;
}

/** One call reported to the collector (docs/collector.md). Attribution fields default to the current context. */
export interface ReportedEvent {
  /** Your idempotency key; default: a new UUIDv7. */
  id?: string;
  /** Lower-case provider id: `openai`, `anthropic`, `google`, `mistral`, ... */
  provider: string;
  model: string;
  /** RFC 3339, Unix milliseconds or a Date; default: now. */
  started_at?: string | number | Date;
  latency_ms?: number;
  endpoint?: string;
  status_code?: number;
  stream?: boolean;
  outcome?: 'completed' | 'stream_cancelled' | 'stream_interrupted' | 'upstream_unreachable' | 'upstream_timeout';
  usage?: Usage;
  usage_source?: 'reported' | 'estimated';
  tenant_id?: string;
  customer_id?: string;
  section?: string;
  run_id?: string;
  attempt?: number;
  properties?: Record<string, string>;
}

/** Options for the official `openai` client: `new OpenAI(openaiOptions())`. */
export interface OpenAIClientOptions {
  baseURL: string;
  apiKey: string;
  fetch: typeof globalThis.fetch;
  defaultHeaders?: Record<string, string>;
}

export interface MiddlewareOptions<Req> {
  /** The request's tenant, customer or run id, e.g. from its authentication. */
  context?: (req: Req) => RunInit | undefined | void;
}

/** A value the gateway would refuse, or a misuse of the SDK. */
export declare class LlmobserveError extends Error {
  readonly details?: unknown;
}

/** Points the SDK at a gateway. */
export declare function observe(options: ObserveOptions): void;
/** Sets the tenant of the current run (`null` clears it). */
export declare function setTenantId(tenantId: string | null): void;
/** Sets the customer of the current run (`null` clears it). */
export declare function setCustomerId(customerId: string | null): void;
/**
 * Sets a free-form property of the current run (`null` removes it). Names: 1 to 64 of
 * a-z 0-9 _ - (lower-cased); values: 1 to 256 printable ASCII characters; at most 16.
 */
export declare function setProperty(name: string, value: string | null): void;
/** Runs `fn` one section deeper; async work started inside stays in the section. */
export declare function section<T>(name: string, fn: () => T): T;
/** Runs `fn` in the sections `retry:<name>:attempt_<n>` until it succeeds or the attempts are used up. */
export declare function retryBlock<T>(name: string, fn: (attempt: RetryAttempt) => T | PromiseLike<T>, options?: RetryOptions): Promise<T>;
/** The current context. */
export declare function getContext(): LlmobserveContext;
/** The x-llmobserve-* headers of the current context. */
export declare function getHeaders(): Record<string, string>;
/** Runs `fn` as a new run: a fresh context and a new run id. */
export declare function withRun<T>(init: RunInit, fn: () => T): T;
export declare function withRun<T>(fn: () => T): T;
/** fetch that adds the current context's headers to calls to the gateway. */
export declare function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
/** Options that point the official openai client at the gateway, with the context headers. */
export declare function openaiOptions(): OpenAIClientOptions;
/** Queues an event for the collector and returns its id; throws LlmobserveError if it is invalid. */
export declare function report(event: ReportedEvent): string;
/** Sends every queued event now. */
export declare function flush(): Promise<void>;
/** Express middleware that gives each request a fresh context and run id. */
export declare function expressMiddleware<Req extends IncomingMessage = IncomingMessage>(
  options?: MiddlewareOptions<Req>,
): (req: Req, res: ServerResponse, next: (err?: unknown) => void) => void;
/** Wraps a node:http request listener so that each request gets a fresh context and run id. */
export declare function httpHandler<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  handler: (req: Req, res: Res) => unknown,
  options?: MiddlewareOptions<Req>,
): (req: Req, res: Res) => unknown;
