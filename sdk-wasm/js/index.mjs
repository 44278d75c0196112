// The ES module entry: the same single instance as the CommonJS entry (one context store,
// one report queue), whichever way the application loads it.
import llmobserve from './index.cjs';

export const {
  observe,
  setTenantId,
  setCustomerId,
  setProperty,
  section,
  retryBlock,
  getContext,
  getHeaders,
  withRun,
  fetch,
  openaiOptions,
  report,
  flush,
  expressMiddleware,
  httpHandler,
  LlmobserveError,
} = llmobserve;
export default llmobserve;
