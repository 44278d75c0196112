// Self and inclusive time per function name, from a V8 .cpuprofile.
//
// A sample stands for the time until the next one. Under workerd that time is often far
// longer than the sampling interval: the thread left V8 (idle, or workerd's own C++ work,
// which the sampler does not see), and V8 records no idle sample for it. Summed as is,
// those gaps go to whatever frame was last on the stack, so an async call that is followed
// by a wait (`fetch`, `sendBatch`) looks expensive. Here each sample counts for at most
// `GAP_FACTOR` times the median interval; the rest is reported apart, as `gapUs`.
const GAP_FACTOR = 2;

const median = (xs) => {
  const s = xs.filter((x) => x > 0).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : 0;
};

export function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = profile.timeDeltas;
  const cap = GAP_FACTOR * median(dt);
  let gapUs = 0;
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = dt[i + 1] ?? 0;
    const counted = Math.min(us, cap);
    gapUs += us - counted;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + counted);
  }
  const name = (n) => n.callFrame.functionName || `(anonymous ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber})`;
  const self = new Map();
  const total = new Map();
  let all = 0;
  for (const [id, us] of selfUs) {
    all += us;
    const n = byId.get(id);
    self.set(name(n), (self.get(name(n)) ?? 0) + us);
    // Inclusive: once per distinct name on the stack.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const nm = name(byId.get(cur));
      if (seen.has(nm)) continue;
      seen.add(nm);
      total.set(nm, (total.get(nm) ?? 0) + us);
    }
  }
  return { all, self, total, gapUs, capUs: cap };
}
