#!/usr/bin/env python3
"""Writes N synthetic events straight into a local D1 SQLite file (after the migrations
have run), far faster than the gateway could make them. Deterministic for a given seed.

usage: gen_events.py <d1.sqlite> <n> <scenario> [seed]

scenarios:
  spread   50 tenants of Zipf-like sizes (the largest holds about 19%), 6 months
           (2025-06-01 to 2025-11-30), 300 customers per tenant, 40 sections, 8 models.
  one      one tenant, one month (2025-11): every event in the range that is read.
Prints a JSON summary: rows per tenant and per tenant-month of the largest tenant.
"""
import json, random, sqlite3, sys, time

DAY = 86_400_000
MODELS = [("gpt-4o-mini", "gpt-4o-mini-2024-07-18", 150, 600), ("gpt-4o", "gpt-4o-2024-08-06", 2500, 10000),
          ("gpt-4.1", "gpt-4.1-2025-04-14", 2000, 8000), ("gpt-4.1-mini", None, 400, 1600), ("o3-mini", None, 1100, 4400),
          ("text-embedding-3-small", None, 20, 0), ("gpt-4.1-nano", None, 100, 400), ("acme-private-llm", None, None, None)]
AGENTS = ["research_assistant", "support_bot", "summarizer", "coder"]
STEPS = ["plan", "search", "analyze_results", "draft", "review"]


def sections():
    out = []
    for a in AGENTS:
        out.append(f"agent:{a}")
        for s in STEPS:
            out.append(f"agent:{a}/step:{s}")
        out.append(f"agent:{a}/step:analyze_results/retry:llm_analysis:attempt_1")
        out.append(f"agent:{a}/step:analyze_results/retry:llm_analysis:attempt_2")
        out.append(f"agent:{a}/tool:web_search")
    return out


def main():
    path, n, scenario = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
    if scenario == "spread":
        tenants = [f"tenant-{i:02d}" for i in range(50)]
        weights = [1 / (i + 1) ** 0.9 for i in range(50)]
        start, end = 1_748_736_000_000, 1_764_547_200_000  # 2025-06-01 .. 2025-12-01
    elif scenario == "one":
        tenants, weights = ["tenant-00"], [1]
        start, end = 1_761_955_200_000, 1_764_547_200_000  # 2025-11-01 .. 2025-12-01
    else:
        sys.exit(f"unknown scenario {scenario}")
    secs = sections()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    cols = ("id, tenant_id, customer_id, section_path, run_id, attempt, key_id, provider, endpoint, method, request_model, "
            "response_model, is_stream, status_code, error, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, "
            "audio_input_tokens, audio_output_tokens, usage_source, pricing_status, unpriced_reason, cost_nanousd, price_ref, "
            "price_version, started_at, latency_ms")
    sql = f"INSERT INTO events ({cols}) VALUES ({', '.join('?' * 29)})"
    t0 = time.time()
    per_tenant, per_month = {}, {}
    batch = []
    run_counter = 0
    # Events arrive in time order, as the gateway appends them: rows of one month sit
    # together in the table, interleaved with the other tenants' rows.
    times = sorted(rng.randrange(start, end) for _ in range(n))
    for i in range(n):
        tenant = rng.choices(tenants, weights)[0]
        at = times[i]
        model, served, pin, pout = rng.choice(MODELS)
        section = rng.choice(secs) if rng.random() < 0.9 else None
        attempt = 2 if section and section.endswith("attempt_2") else (1 if section and section.endswith("attempt_1") else None)
        status = 200 if rng.random() < 0.96 else rng.choice([400, 429, 500, 502])
        inp = rng.randrange(50, 8000)
        cached = rng.randrange(0, inp) if rng.random() < 0.3 else 0
        out = rng.randrange(0, 1500) if pout != 0 else 0
        priced = pin is not None and status == 200
        cost = ((inp - cached) * pin + cached * pin // 2 + out * pout) // 1000 if priced else None
        if i % 5 == 0:
            run_counter += 1
        uid = "%08x-%04x-7%03x-%04x-%012x" % (at >> 16, at & 0xFFFF, rng.getrandbits(12), 0x8000 | rng.getrandbits(14), rng.getrandbits(48))
        batch.append((uid, tenant, f"cust-{rng.randrange(300):03d}" if rng.random() < 0.95 else None, section, f"run-{run_counter:07d}",
                      attempt, "key_0000000000000001", "openai", "/v1/embeddings" if pout == 0 else "/v1/chat/completions", "POST",
                      model, served if status == 200 else None, 1 if rng.random() < 0.3 else 0, status, None, inp, cached, out, 0, 0, 0,
                      "reported" if status == 200 else "missing", "priced" if priced else "unpriced",
                      None if priced else ("unknown_model" if pin is None else "no_usage"), cost,
                      f"openai/{model}@2024-07-18" if priced else None, "2026-11-28" if priced else None, at, rng.randrange(80, 4000)))
        per_tenant[tenant] = per_tenant.get(tenant, 0) + 1
        if tenant == "tenant-00":
            month = time.strftime("%Y-%m", time.gmtime(at / 1000))
            per_month[month] = per_month.get(month, 0) + 1
        if len(batch) == 20_000:
            db.executemany(sql, batch)
            batch.clear()
    db.executemany(sql, batch)
    db.commit()
    db.close()  # no ANALYZE: a new D1 database has no planner statistics either
    print(json.dumps({"rows": n, "seconds": round(time.time() - t0, 1), "tenants": len(per_tenant),
                      "largest_tenant_rows": per_tenant.get("tenant-00"), "largest_tenant_rows_per_month": per_month}))


if __name__ == "__main__":
    main()
