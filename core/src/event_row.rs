//! The `events` row as the worker writes it and as a queue message carries it: a value for
//! each column it has, by position in [`EVENT_INSERT_COLUMNS`]. On the wire (queue
//! messages, the `LOST` log line, `ingest_failures.event_row`) it is a JSON object of column
//! name to value, so that a message written by one version of the worker can be read by the
//! next: columns it lacks take their defaults, and unknown columns are kept, for the write
//! to refuse and a replay to see. In memory it is a vector by column, not a map: no key is
//! allocated, hashed or sorted per event. The inserts that write rows are built here too
//! (`insert_many`, `insert_one`); the worker only binds them.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::batching::json_arrays;
use crate::event::Event;
use crate::money::MAX_SAFE_INTEGER;

/// The columns an insert writes, in order.
pub const EVENT_INSERT_COLUMNS: [&str; 56] = [
    "id", "tenant_id", "customer_id", "section_path", "run_id", "attempt", "key_id", "provider", "endpoint",
    "method", "request_model", "response_model", "is_stream", "status_code", "error", "input_tokens",
    "cached_input_tokens", "output_tokens", "reasoning_tokens", "audio_input_tokens", "audio_output_tokens",
    "usage_source", "pricing_status", "unpriced_reason", "cost_nanousd", "price_ref", "price_version", "started_at",
    "latency_ms", "outcome", "ttfb_ms", "upstream_request_id", "error_type", "retry_after_ms",
    "ratelimit_limit_requests", "ratelimit_remaining_requests", "ratelimit_limit_tokens",
    "ratelimit_remaining_tokens", "properties", "client_event_id", "request_hash", "is_retry", "retry_of",
    "cache_write_tokens", "cache_write_1h_tokens", "cached_audio_input_tokens", "image_input_tokens",
    "cached_image_input_tokens", "image_output_tokens", "audio_duration_ms", "characters", "images", "image_size",
    "image_quality", "service_tier", "declared_attempt",
];

fn index(col: &str) -> Option<usize> {
    EVENT_INSERT_COLUMNS.iter().position(|c| *c == col)
}

/// One `events` row ready to insert: strings, whole numbers below 2^53, or null.
#[derive(Clone, Debug, PartialEq)]
pub struct EventWrite {
    /// By position in [`EVENT_INSERT_COLUMNS`]; `None` where the row lacks the column.
    values: Vec<Option<Value>>,
    /// Columns this version does not know, in the order they came.
    unknown: Vec<(String, Value)>,
}

impl AsRef<EventWrite> for EventWrite {
    fn as_ref(&self) -> &EventWrite {
        self
    }
}

impl EventWrite {
    /// The value of a column, if the row has it (null included).
    pub fn get(&self, col: &str) -> Option<&Value> {
        self.values.get(index(col)?)?.as_ref()
    }
    pub fn text(&self, col: &str) -> Option<&str> {
        self.get(col).and_then(Value::as_str)
    }
    pub fn number(&self, col: &str) -> Option<u64> {
        self.get(col).and_then(Value::as_f64).filter(|n| n.is_finite() && *n >= 0.0).map(|n| n as u64)
    }
    pub fn id(&self) -> &str {
        self.text("id").unwrap_or("")
    }
    pub fn tenant(&self) -> &str {
        self.text("tenant_id").unwrap_or("")
    }
    /// The first column this version does not know, if any.
    pub fn unknown_column(&self) -> Option<&str> {
        self.unknown.first().map(|(k, _)| k.as_str())
    }
    /// The known columns the row has (null included), in insert order, with their values.
    pub fn columns(&self) -> impl Iterator<Item = (&'static str, &Value)> + '_ {
        EVENT_INSERT_COLUMNS.iter().zip(&self.values).filter_map(|(c, v)| Some((*c, v.as_ref()?)))
    }
}

/// A value D1 keeps exactly: a string, a whole number below 2^53 (a bool as 0 or 1), or
/// null.
pub fn check_value(v: &Value) -> Result<(), String> {
    match v {
        Value::Null | Value::String(_) | Value::Bool(_) => Ok(()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f.abs() <= MAX_SAFE_INTEGER as f64 => Ok(()),
            _ => Err(format!("event value {n} is not a safe integer")),
        },
        Value::Array(_) | Value::Object(_) => Err("event values are strings, numbers or null".to_owned()),
    }
}

impl EventWrite {
    /// The columns the row writes, with their values, in insert order. Refused: a column
    /// this version does not know, or a value D1 cannot keep exactly.
    pub fn checked_columns(&self) -> Result<Vec<(&'static str, &Value)>, String> {
        if let Some(unknown) = self.unknown_column() {
            return Err(format!("event row has an unknown column {unknown:?}"));
        }
        let cols: Vec<_> = self.columns().collect();
        cols.iter().try_for_each(|(_, v)| check_value(v))?;
        Ok(cols)
    }
}

/// `INSERT OR IGNORE` of one row (writing the same id again changes nothing): the SQL and
/// the values it binds, one per column the row has (null included).
pub fn insert_one(row: &EventWrite) -> Result<(String, Vec<&Value>), String> {
    let cols = row.checked_columns()?;
    let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
    let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT OR IGNORE INTO events ({}) VALUES ({})", names.join(", "), placeholders.join(", "));
    Ok((sql, cols.into_iter().map(|(_, v)| v).collect()))
}

/// One statement of [`insert_many`]: its SQL, and the JSON array of rows it binds as `?1`.
#[derive(Clone, Debug, PartialEq)]
pub struct RowsInsert {
    pub sql: String,
    pub rows: String,
}

/// `INSERT OR IGNORE` of many rows with one statement per run of rows that write the same
/// columns (normally one run): the rows go as one JSON array in one parameter and SQLite
/// unpacks them (`json_each`), which costs D1 far less than a statement with 56
/// parameters per row. Each row goes as an array of its non-null values, picked by
/// position, at about half the cost of looking up 56 keys in an object per row. A column
/// left out takes its default: NULL for every nullable column (`scripts/check-schema.py`
/// fails a nullable column with another default); [`event_row`] never writes null to a
/// NOT NULL one. A statement's array is at most `max_bytes` (a longer run is split).
pub fn insert_many(rows: &[&EventWrite], max_bytes: usize) -> Result<Vec<RowsInsert>, String> {
    let mut out = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let mut run_cols: Vec<&str> = Vec::new();
    let flush = |cols: &[&str], run: &mut Vec<String>, out: &mut Vec<RowsInsert>| {
        if run.is_empty() {
            return;
        }
        let picks: Vec<String> = (0..cols.len()).map(|k| format!("json_extract(value, '$[{k}]')")).collect();
        let sql = format!("INSERT OR IGNORE INTO events ({}) SELECT {} FROM json_each(?1)", cols.join(", "), picks.join(", "));
        out.extend(json_arrays(run, max_bytes).into_iter().map(|rows| RowsInsert { sql: sql.clone(), rows }));
        run.clear();
    };
    for row in rows {
        let written: Vec<(&str, &Value)> = row.checked_columns()?.into_iter().filter(|(_, v)| !v.is_null()).collect();
        let cols: Vec<&str> = written.iter().map(|(c, _)| *c).collect();
        if cols != run_cols {
            flush(&run_cols, &mut run, &mut out);
            run_cols = cols;
        }
        let values: Vec<&Value> = written.iter().map(|(_, v)| *v).collect();
        run.push(serde_json::to_string(&values).map_err(|e| e.to_string())?);
    }
    flush(&run_cols, &mut run, &mut out);
    Ok(out)
}

impl Serialize for EventWrite {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.columns() {
            map.serialize_entry(k, v)?;
        }
        for (k, v) in &self.unknown {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for EventWrite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Row;
        impl<'de> Visitor<'de> for Row {
            type Value = EventWrite;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of column name to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventWrite, A::Error> {
                let mut row = EventWrite { values: vec![None; EVENT_INSERT_COLUMNS.len()], unknown: Vec::new() };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let value: Value = map.next_value()?;
                    match index(&key) {
                        Some(i) => row.values[i] = Some(value),
                        None => match row.unknown.iter_mut().find(|(k, _)| *k == key) {
                            Some(slot) => slot.1 = value,
                            None => row.unknown.push((key.into_owned(), value)),
                        },
                    }
                }
                Ok(row)
            }
        }
        d.deserialize_map(Row)
    }
}

/// The row of an event. Its retry facts are provisional (the declared attempt only): the
/// write completes them from the stored chain.
pub fn event_row(e: &Event) -> EventWrite {
    use serde_json::Value as V;
    let c = &e.call;
    let a = &c.attribution;
    let u = c.usage.unwrap_or_default();
    let t = |s: &str| V::String(s.to_owned());
    let ot = |s: Option<&str>| s.map_or(V::Null, t);
    // D1 keeps integers exactly below 2^53. A count above that (an upstream reporting
    // absurd usage) is stored as 2^53 - 1 rather than making the event unwritable.
    let n = |x: u64| V::from(x.min(MAX_SAFE_INTEGER));
    let on = |x: Option<u64>| x.map_or(V::Null, |x| V::from(x.min(MAX_SAFE_INTEGER)));
    let declared = a.attempt.map(u64::from);
    let values = [
        t(&c.id),
        t(c.tenant.as_str()),
        ot(a.customer.as_ref().map(|x| x.as_str())),
        ot(a.section.as_ref().map(|x| x.as_str())),
        ot(a.run_id.as_ref().map(|x| x.as_str())),
        on(declared),
        ot(c.key_id.as_deref()),
        t(&c.provider),
        t(&c.endpoint),
        t(&c.method),
        ot(c.request_model.as_deref()),
        ot(c.response_model.as_deref()),
        n(u64::from(c.is_stream)),
        n(u64::from(c.status_code)),
        ot(c.error.as_deref()),
        n(u.input_tokens),
        n(u.cached_input_tokens),
        n(u.output_tokens),
        n(u.reasoning_tokens),
        n(u.audio_input_tokens),
        n(u.audio_output_tokens),
        t(c.usage_source.as_str()),
        t(e.pricing_status()),
        ot(e.unpriced_reason.map(|r| r.as_str())),
        on(e.cost.map(|x| x.nanos())),
        ot(e.price_ref.as_deref()),
        ot(e.price_version.as_deref()),
        n(c.started_at.0.max(0) as u64),
        n(c.latency_ms),
        t(c.outcome.as_str()),
        on(c.ttfb_ms),
        ot(c.upstream.request_id.as_deref()),
        ot(c.upstream.error_type.as_deref()),
        on(c.upstream.retry_after_ms),
        on(c.upstream.limit_requests),
        on(c.upstream.remaining_requests),
        on(c.upstream.limit_tokens),
        on(c.upstream.remaining_tokens),
        if a.properties.is_empty() { V::Null } else { t(&a.properties.to_json()) },
        ot(c.client_event_id.as_deref()),
        ot(c.request_hash.as_deref()),
        n(u64::from(declared.is_some_and(|d| d > 1))),
        V::Null,
        n(u.cache_write_tokens),
        n(u.cache_write_1h_tokens),
        n(u.cached_audio_input_tokens),
        n(u.image_input_tokens),
        n(u.cached_image_input_tokens),
        n(u.image_output_tokens),
        n(u.audio_duration_ms),
        n(u.characters),
        n(u.images.map_or(0, |i| i.count)),
        ot(u.images.map(|i| i.size.to_text()).as_deref()),
        ot(u.images.map(|i| i.quality.as_str())),
        t(u.service_tier.as_str()),
        on(declared),
    ];
    EventWrite { values: values.into_iter().map(Some).collect(), unknown: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_goes_through_its_wire_form_unchanged() {
        let wire = json!({"id": "evt_1", "tenant_id": "acme", "customer_id": null, "input_tokens": 12, "started_at": 1700000000000u64});
        let row: EventWrite = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(row.id(), "evt_1");
        assert_eq!(row.tenant(), "acme");
        assert_eq!(row.number("input_tokens"), Some(12));
        // A null column is there (null); a missing one is not.
        assert_eq!(row.get("customer_id"), Some(&Value::Null));
        assert_eq!(row.get("run_id"), None);
        assert_eq!(row.unknown_column(), None);
        assert_eq!(serde_json::to_value(&row).unwrap(), wire);
        let cols: Vec<&str> = row.columns().map(|(c, _)| c).collect();
        assert_eq!(cols, ["id", "tenant_id", "customer_id", "input_tokens", "started_at"]);
    }

    #[test]
    fn unknown_columns_are_kept_for_the_write_to_refuse_and_a_replay_to_see() {
        let wire = r#"{"id":"evt_1","tenant_id":"acme","from_the_future":"x","also_new":2}"#;
        let row: EventWrite = serde_json::from_str(wire).unwrap();
        assert_eq!(row.unknown_column(), Some("from_the_future"));
        assert_eq!(serde_json::to_string(&row).unwrap(), wire);
    }

    #[test]
    fn a_repeated_column_keeps_its_last_value_as_a_json_object_would() {
        let row: EventWrite = serde_json::from_str(r#"{"id":"a","id":"b","zz":1,"zz":2}"#).unwrap();
        assert_eq!(row.id(), "b");
        assert_eq!(serde_json::to_string(&row).unwrap(), r#"{"id":"b","zz":2}"#);
    }

    #[test]
    fn anything_but_an_object_is_refused() {
        assert!(serde_json::from_str::<EventWrite>("[1,2]").is_err());
        assert!(serde_json::from_str::<EventWrite>("\"evt\"").is_err());
    }

    fn row(json: &str) -> EventWrite {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rows_that_write_the_same_columns_share_one_statement_and_nulls_are_left_out() {
        let a = row(r#"{"id":"a","tenant_id":"t","customer_id":null,"input_tokens":3}"#);
        let b = row(r#"{"id":"b","tenant_id":"t","input_tokens":4}"#);
        let c = row(r#"{"id":"c","tenant_id":"t","customer_id":"alice","input_tokens":5}"#);
        let d = row(r#"{"id":"d","tenant_id":"t"}"#);
        let out = insert_many(&[&a, &b, &c, &d], 10_000).unwrap();
        let cols = |sql: &str| sql.split(" SELECT ").next().unwrap().to_owned();
        assert_eq!(out.len(), 3, "a and b write the same columns (a's null is left out); c and d differ");
        assert_eq!(cols(&out[0].sql), "INSERT OR IGNORE INTO events (id, tenant_id, input_tokens)");
        assert_eq!(out[0].rows, r#"[["a","t",3],["b","t",4]]"#);
        assert_eq!(cols(&out[1].sql), "INSERT OR IGNORE INTO events (id, tenant_id, customer_id, input_tokens)");
        assert_eq!(out[1].rows, r#"[["c","t","alice",5]]"#);
        assert!(out[1].sql.ends_with("json_extract(value, '$[3]') FROM json_each(?1)"));
        assert_eq!(out[2].rows, r#"[["d","t"]]"#);
    }

    #[test]
    fn a_long_run_is_split_by_bytes_into_statements_with_the_same_sql() {
        let rows: Vec<EventWrite> = (0..5).map(|i| row(&format!(r#"{{"id":"e{i}","tenant_id":"t"}}"#))).collect();
        let refs: Vec<&EventWrite> = rows.iter().collect();
        let out = insert_many(&refs, 30).unwrap();
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|s| s.sql == out[0].sql));
        let all: Vec<String> = out.iter().map(|s| s.rows.clone()).collect();
        assert_eq!(all, [r#"[["e0","t"],["e1","t"]]"#, r#"[["e2","t"],["e3","t"]]"#, r#"[["e4","t"]]"#]);
    }

    #[test]
    fn unknown_columns_and_unsafe_values_are_refused_by_both_inserts() {
        let unknown = row(r#"{"id":"a","tenant_id":"t","from_the_future":1}"#);
        let too_big = row(r#"{"id":"a","tenant_id":"t","input_tokens":9007199254740993}"#);
        let nested = row(r#"{"id":"a","tenant_id":"t","properties":{"k":"v"}}"#);
        for bad in [&unknown, &too_big, &nested] {
            assert!(insert_many(&[bad], 10_000).is_err());
            assert!(insert_one(bad).is_err());
        }
        assert!(insert_many(&[&unknown], 10_000).unwrap_err().contains("from_the_future"));
        assert!(check_value(&json!(9007199254740991u64)).is_ok(), "2^53 - 1 is kept exactly");
        assert!(check_value(&json!(1.5)).is_ok(), "a finite number below 2^53 passes; whole numbers are event_row's part");
    }

    #[test]
    fn one_row_binds_every_column_it_has_nulls_included() {
        let r = row(r#"{"id":"a","tenant_id":"t","customer_id":null}"#);
        let (sql, values) = insert_one(&r).unwrap();
        assert_eq!(sql, "INSERT OR IGNORE INTO events (id, tenant_id, customer_id) VALUES (?1, ?2, ?3)");
        assert_eq!(values, [&json!("a"), &json!("t"), &Value::Null]);
    }

    #[test]
    fn an_event_row_has_every_column_in_insert_order() {
        use crate::pricing::PriceBook;
        use crate::usage::Usage;
        let usage = Usage { input_tokens: 10, output_tokens: 5, ..Usage::default() };
        let call = crate::event::tests::call(Some("gpt-4o-mini-2024-07-18"), Some(usage));
        let row = event_row(&crate::event::price_event_with(call, &PriceBook::registry()));
        let cols: Vec<&str> = row.columns().map(|(c, _)| c).collect();
        assert_eq!(cols, EVENT_INSERT_COLUMNS);
        assert_eq!(row.number("input_tokens"), Some(10));
        assert_eq!(row.text("pricing_status"), Some("priced"));
        assert!(row.number("cost_nanousd").is_some_and(|n| n > 0));
        let back: EventWrite = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
        assert_eq!(back, row);
    }
}
