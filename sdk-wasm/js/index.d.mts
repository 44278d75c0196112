// Types of the llmobserve npm package (ES module entry): the same API as the CommonJS entry.
import * as llmobserve from './index.cjs';

export * from './index.cjs';
export default llmobserve;
