// For the SDK's end-to-end tests (tests/e2e/sdk*.test.mjs): reading back every stored
// event of a tenant, and the packages those tests load from here (Express).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const express = require('express');

/** Every stored event of `tenant` (following next_cursor), once there are at least `want`. */
export async function allEvents(stack, tenant, want, { timeoutMs = 60000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = [];
    let cursor;
    do {
      const q = `/runs/latest?tenant_id=${encodeURIComponent(tenant)}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await stack.api('GET', q, { auth: stack.adminToken });
      if (r.status !== 200) throw new Error(`GET ${q}: ${r.status} ${r.text}`);
      events.push(...r.json.data);
      cursor = r.json.next_cursor;
    } while (cursor);
    if (events.length >= want || Date.now() > deadline) return events;
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** The run tree of a list of events: nested sections, each with its events. */
export function sectionTree(events) {
  const root = { name: '(run)', children: new Map(), events: [] };
  for (const e of events) {
    let node = root;
    for (const seg of (e.section_path ?? '').split('/').filter(Boolean)) {
      if (!node.children.has(seg)) node.children.set(seg, { name: seg, children: new Map(), events: [] });
      node = node.children.get(seg);
    }
    node.events.push(e);
  }
  return root;
}
