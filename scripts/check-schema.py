#!/usr/bin/env python3
"""Checks the D1 schema: schema.sql equals the result of applying migrations/ in order,
every index on a tenant's data starts with tenant_id (every query filters by it first), and
no nullable column of events has a default (the worker's batched insert leaves a null
value's column out, so that column must then be NULL: core/src/event_row.rs, insert_many).
Prints what differs and exits 1 on any failure."""
import pathlib, re, sqlite3, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TENANT_TABLES = {"events", "insights", "repricing_runs", "ingest_failures", "rollups", "rollup_days"}


def normalise(sql):
    sql = re.sub(r"--[^\n]*", "", sql or "")
    # ALTER TABLE ADD COLUMN appends ", col TYPE" after the last line of the original text.
    return re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")").replace(" ,", ",").strip()


def objects(db):
    return {
        (t, n): normalise(s)
        for t, n, s in db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    }


def main():
    migrated = sqlite3.connect(":memory:")
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        migrated.executescript(path.read_text())
    declared = sqlite3.connect(":memory:")
    declared.executescript((ROOT / "schema.sql").read_text())
    failures = []
    a, b = objects(migrated), objects(declared)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            failures.append(f"{key[0]} {key[1]}: migrations give {a.get(key)!r}, schema.sql has {b.get(key)!r}")
    for table in TENANT_TABLES:
        for _, name, *_ in migrated.execute(f"PRAGMA index_list({table})"):
            cols = [r[2] for r in migrated.execute(f"PRAGMA index_info({name})")]
            if not name.startswith("sqlite_autoindex") and cols[:1] != ["tenant_id"]:
                failures.append(f"index {name} on {table} starts with {cols[:1]}, not tenant_id")
    for _, name, _, notnull, default, _ in migrated.execute("PRAGMA table_info(events)"):
        if not notnull and default is not None:
            failures.append(f"events.{name} is nullable with default {default}: a null left out of a batched insert would read as that")
    for f in failures:
        print("schema check:", f, file=sys.stderr)
    print(f"schema check: {len(a)} objects, {'ok' if not failures else f'{len(failures)} problems'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
