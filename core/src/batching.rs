//! Cutting a sequence of items into batches that fit a size limit: queue messages that
//! carry several events, `sendBatch` calls, one-parameter inserts.

use std::ops::Range;

/// Consecutive runs of `sizes` (in order, every item in exactly one run) of at most
/// `max_items` items whose sizes add up to at most `max_bytes`. An item larger than
/// `max_bytes` on its own makes a run of one: the caller's limit refuses it, not this.
pub fn runs_by_size(sizes: &[usize], max_bytes: usize, max_items: usize) -> Vec<Range<usize>> {
    let max_items = max_items.max(1);
    let mut runs = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, &size) in sizes.iter().enumerate() {
        let full = i - start >= max_items || bytes.saturating_add(size) > max_bytes;
        if i > start && full {
            runs.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes = bytes.saturating_add(size);
    }
    if start < sizes.len() {
        runs.push(start..sizes.len());
    }
    runs
}

/// Items that are each JSON text, as JSON arrays of at most `max_bytes` each, in order:
/// the one parameter of a `json_each` statement each.
pub fn json_arrays(items: &[String], max_bytes: usize) -> Vec<String> {
    let sizes: Vec<usize> = items.iter().map(|i| i.len() + 1).collect();
    runs_by_size(&sizes, max_bytes, usize::MAX).into_iter().map(|run| format!("[{}]", items[run].join(","))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_respect_both_limits_and_keep_every_item_in_order() {
        assert_eq!(runs_by_size(&[], 10, 3), Vec::<Range<usize>>::new());
        assert_eq!(runs_by_size(&[4, 4, 4], 10, 5), vec![0..2, 2..3]);
        assert_eq!(runs_by_size(&[1, 1, 1, 1, 1], 100, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(runs_by_size(&[3, 7, 1], 10, 5), vec![0..2, 2..3], "exactly the limit fits");
    }

    #[test]
    fn json_arrays_keep_every_item_in_order_within_the_limit() {
        let items: Vec<String> = ["1", "[2,3]", "\"four\""].iter().map(|s| s.to_string()).collect();
        assert_eq!(json_arrays(&items, 100), vec![r#"[1,[2,3],"four"]"#]);
        // Each item counts its length and a comma: 2 + 6 fit in 8, the third does not.
        assert_eq!(json_arrays(&items, 8), vec!["[1,[2,3]]", r#"["four"]"#]);
        assert_eq!(json_arrays(&[], 8), Vec::<String>::new());
    }

    #[test]
    fn an_item_over_the_limit_goes_alone() {
        assert_eq!(runs_by_size(&[2, 50, 2], 10, 5), vec![0..1, 1..2, 2..3]);
        assert_eq!(runs_by_size(&[50], 10, 5), vec![0..1]);
        assert_eq!(runs_by_size(&[1, 2], 10, 0), vec![0..1, 1..2], "at least one item a run");
    }

    #[test]
    fn runs_cover_everything_for_any_sizes() {
        let sizes: Vec<usize> = (0..200).map(|i| (i * 37) % 23).collect();
        for (max_bytes, max_items) in [(1, 1), (10, 3), (40, 100), (1000, 7)] {
            let runs = runs_by_size(&sizes, max_bytes, max_items);
            assert_eq!(runs.first().map(|r| r.start), Some(0));
            assert_eq!(runs.last().map(|r| r.end), Some(sizes.len()));
            for w in runs.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
            for r in &runs {
                assert!(r.len() <= max_items);
                assert!(r.len() == 1 || sizes[r.clone()].iter().sum::<usize>() <= max_bytes, "{r:?}");
            }
        }
    }
}
