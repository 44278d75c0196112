//! Query strings of the read API and the cursors it hands out (untrusted text): what is
//! accepted decodes as an independent decoder says, stays within the documented limits,
//! and every cursor the API gives out is accepted back as the same position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::query::{
    encode_offset_cursor, no_params, parse_instant, CostsQuery, CustomersQuery, EventCursor, EventFilters, ExportQuery,
    InsightsQuery, KeysQuery, LatestQuery, Params, RunQuery, MAX_MS, MAX_QUERY_LEN,
};
use llmobserve_core::time::UnixMillis;

#[path = "common.rs"]
mod common;

fn check_filters(f: &EventFilters) {
    if let Some(s) = &f.section_prefix {
        assert!(common::ref_section(s.as_str()));
    }
    if let Some(r) = &f.run_id {
        assert!(common::ref_id(r.as_str(), 128, b"-._:@+"));
    }
    if let Some(m) = &f.model {
        assert!(m.as_str().len() <= 128 && m.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:/@+".contains(&b)));
    }
    if let Some(p) = &f.provider {
        assert!(p.as_str().len() <= 32 && p.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b)));
    }
    if let Some(e) = &f.endpoint {
        assert!(e.as_str().starts_with('/') && e.as_str().len() <= 256);
    }
    for t in [f.range.from, f.range.to].into_iter().flatten() {
        assert!((0..=MAX_MS).contains(&t));
    }
    if let (Some(a), Some(b)) = (f.range.from, f.range.to) {
        assert!(a <= b);
    }
}

/// A cursor that the API hands out is accepted back, as itself, through a query string.
fn check_cursor(c: &EventCursor) {
    let text = c.encode();
    assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)), "cursor {text:?} needs escaping");
    let q = LatestQuery::parse(Some(&format!("cursor={text}"))).expect("a cursor we gave out was refused");
    assert_eq!(q.cursor.as_ref(), Some(c));
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };

    match Params::parse(Some(raw)) {
        Ok(p) => {
            assert!(raw.len() <= MAX_QUERY_LEN);
            // Each pair as an independent decoder reads it; names unique.
            let mut names = Vec::new();
            for part in raw.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                let k = String::from_utf8(common::ref_percent_decode(k).expect("name")).expect("UTF-8 name");
                let v = String::from_utf8(common::ref_percent_decode(v).expect("value")).expect("UTF-8 value");
                assert!(!k.chars().chain(v.chars()).any(char::is_control));
                assert_eq!(p.get(&k), Some(v.as_str()));
                assert!(!names.contains(&k), "{k:?} given twice");
                names.push(k);
            }
        }
        Err(e) => assert!(!e.message.is_empty()),
    }

    if let Ok(q) = LatestQuery::parse(Some(raw)) {
        assert!((1..=500).contains(&q.limit));
        check_filters(&q.filters);
        if let Some(c) = &q.cursor {
            assert!((0..=MAX_MS).contains(&c.started_at));
            check_cursor(c);
        }
    }
    if let Ok(q) = ExportQuery::parse(Some(raw), Some("text/csv")) {
        check_filters(&q.filters);
    }
    if let Ok(q) = CostsQuery::parse(Some(raw)) {
        check_filters(&q.filters);
        assert!(q.group_by.len() <= 6);
        if let Some(d) = q.section_depth {
            assert!((1..=16).contains(&d));
        }
    }
    if let Ok(q) = CustomersQuery::parse(Some(raw)) {
        assert!((1..=1000).contains(&q.limit));
        let next = encode_offset_cursor(q.offset.saturating_add(q.limit));
        let again = CustomersQuery::parse(Some(&format!("cursor={next}"))).expect("a next_cursor we gave out was refused");
        assert_eq!(again.offset, q.offset.saturating_add(q.limit));
    }
    if let Ok(q) = InsightsQuery::parse(Some(raw)) {
        assert!((1..=1000).contains(&q.limit));
        for day in [&q.from_day, &q.to_day].into_iter().flatten() {
            assert!(common::ref_date(day.as_bytes()).is_some(), "day {day:?}");
        }
    }
    let _ = RunQuery::parse(Some(raw));
    let _ = KeysQuery::parse(Some(raw));
    let _ = no_params(Some(raw));

    // Cursors as text: what parses re-encodes to a cursor that parses to the same value.
    if let Ok(c) = EventCursor::parse(raw) {
        assert_eq!(EventCursor::parse(&c.encode()), Ok(c.clone()));
        check_cursor(&c);
    }
    // Any position the API can hand out is accepted back.
    let n = common::tail_u64s(data, 2);
    let offset = n[0] as u32;
    let back = CustomersQuery::parse(Some(&format!("cursor={}", encode_offset_cursor(offset))));
    assert_eq!(back.map(|q| q.offset), Ok(offset), "offset cursor {offset}");
    let ms = (n[1] % (MAX_MS as u64 + 1)) as i64;
    check_cursor(&EventCursor { started_at: ms, id: format!("evt_{ms:x}") });

    // Instants: what parses agrees with a strict RFC 3339 / day / milliseconds reading,
    // and prints back to the same instant.
    if let Ok(ms) = parse_instant(raw) {
        assert!((0..=MAX_MS).contains(&ms));
        let want = if !raw.is_empty() && raw.len() <= 16 && raw.bytes().all(|b| b.is_ascii_digit()) {
            raw.parse::<i64>().ok()
        } else if raw.len() == 10 {
            common::ref_date(raw.as_bytes()).map(|(y, m, d)| common::ref_days(y, m, d) * 86_400_000)
        } else {
            common::ref_rfc3339(raw, 9, false)
        };
        assert_eq!(Some(ms), want, "instant {raw:?}");
        assert_eq!(parse_instant(&UnixMillis(ms).to_rfc3339()), Ok(ms));
    } else if raw.len() != 10 && !(raw.len() <= 16 && raw.bytes().all(|b| b.is_ascii_digit())) {
        let want = common::ref_rfc3339(raw, 9, false).filter(|ms| (0..=MAX_MS).contains(ms));
        assert_eq!(want, None, "a valid instant {raw:?} was refused");
    }
});
