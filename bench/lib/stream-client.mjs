// A small sequential client for streamed chat completions: for each request it records
// the time to the response headers, to the first body byte, to each complete SSE event,
// and to the end of the body. One request at a time on one keep-alive connection; the
// load tool (oha) does not measure time to first byte, this does only that.
import http from 'node:http';

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

function once(agent, url, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const t0 = now();
    const req = http.request({
      agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const tHeaders = now();
      let tFirst = null;
      let buf = '';
      const events = [];
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const t = now();
        if (tFirst === null && chunk.length) tFirst = t;
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          events.push({ at: t - t0, data: buf.slice(0, cut) });
          buf = buf.slice(cut + 2);
        }
      });
      res.on('end', () => {
        const tEnd = now();
        // Events that carry choices (role, content, finish): the ones a client waits for.
        const choice = events.filter((e) => /"choices":\s*\[\s*\{/.test(e.data));
        resolve({
          status: res.statusCode,
          serverTiming: res.headers['server-timing'] ?? null,
          headersMs: tHeaders - t0,
          ttfbMs: (tFirst ?? tEnd) - t0,
          totalMs: tEnd - t0,
          body: events.map((e) => e.data).join('\n\n') + buf,
          events: events.length,
          choiceMs: choice.map((e) => e.at),
          done: events.some((e) => e.data.trim() === 'data: [DONE]'),
          text: choice.map((e) => e.data.match(/"content":\s*"((?:[^"\\]|\\.)*)"/)?.[1] ?? '').join(''),
          usageEvents: events.filter((e) => /"usage":\s*\{/.test(e.data)).length,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * `n` sequential streamed requests (after `warmup` unrecorded ones), fewer when `maxMs`
 * runs out first (never fewer than `minN`). Returns the per-request samples.
 */
export async function streamRun({ url, headers, body, n, warmup = 5, maxMs = Infinity, minN = 1 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < warmup; i++) await once(agent, url, headers, body);
    const samples = [];
    const deadline = now() + maxMs;
    for (let i = 0; i < n && (i < minN || now() < deadline); i++) samples.push(await once(agent, url, headers, body));
    return samples;
  } finally {
    agent.destroy();
  }
}
