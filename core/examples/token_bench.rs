//! Token estimation, natively: the first count in a fresh process (init) and warm
//! throughput, for `llmobserve_core::tokens` and for unmodified tiktoken-rs, on the
//! committed corpus (core/tests/data/tokens). Prints numbers; see BENCHMARKS.md.
//!
//! cargo run -p llmobserve-core --release --example token_bench [-- --quick]

// A benchmark program: printing is its output, and it may stop at the first error.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use llmobserve_core::tokens::Encoding;

#[derive(Clone, Copy, PartialEq)]
enum Counter {
    Ours,
    Tiktoken,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Counter::Ours => "llmobserve",
            Counter::Tiktoken => "tiktoken-rs",
        }
    }

    fn count(self, enc: Encoding, text: &str) -> u64 {
        match self {
            Counter::Ours => enc.count(text).expect("tables"),
            Counter::Tiktoken => {
                let bpe = match enc {
                    Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
                    Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
                };
                bpe.encode_ordinary(text).len() as u64
            }
        }
    }
}

fn parse_counter(s: &str) -> Counter {
    if s == "ours" {
        Counter::Ours
    } else {
        Counter::Tiktoken
    }
}

fn parse_encoding(s: &str) -> Encoding {
    if s == "o200k" {
        Encoding::O200kBase
    } else {
        Encoding::Cl100kBase
    }
}

const FIRST_TEXT: &str = "The user cancelled the stream after a few words.";

/// Child mode: one count in this fresh process; prints its duration in microseconds.
fn first_count(counter: Counter, enc: Encoding) {
    let start = Instant::now();
    let n = counter.count(enc, black_box(FIRST_TEXT));
    let first = start.elapsed();
    let start = Instant::now();
    black_box(counter.count(enc, black_box(FIRST_TEXT)));
    let second = start.elapsed();
    println!("{} {} {n}", first.as_nanos(), second.as_nanos());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn corpus() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokens");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    // TOKEN_BENCH_ONLY=<file stem> narrows the corpus to one file (for a profiler).
    let only = std::env::var("TOKEN_BENCH_ONLY").ok();
    files
        .into_iter()
        .filter(|p| only.as_deref().is_none_or(|o| p.file_stem().is_some_and(|s| s == o)))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

/// CPU time this thread has run, from /proc/thread-self/schedstat (Linux; updated at least
/// every scheduler tick, a few ms at most: fine for rounds of 100 ms). On a shared machine
/// wall time also counts the time other processes hold the core.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

/// A clock for throughput: this thread's CPU time where the OS reports it, else wall time.
struct Clock(Instant, Option<Duration>);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), thread_cpu())
    }

    fn elapsed(&self) -> Duration {
        match (self.1, thread_cpu()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => self.0.elapsed(),
        }
    }
}

/// MB/s (10^6 bytes) of counting `text` over and over for `budget`: the best of its 100 ms
/// rounds of CPU time, since the machines this runs on are shared.
fn throughput(counter: Counter, enc: Encoding, text: &str, budget: Duration) -> f64 {
    black_box(counter.count(enc, text));
    let mut best = 0f64;
    let round = Duration::from_millis(100);
    for _ in 0..(budget.as_millis() / round.as_millis()).max(1) {
        let clock = Clock::start();
        let mut bytes = 0usize;
        while clock.elapsed() < round {
            black_box(counter.count(enc, black_box(text)));
            bytes += text.len();
        }
        best = best.max(bytes as f64 / clock.elapsed().as_secs_f64() / 1e6);
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--first" {
        first_count(parse_counter(&args[2]), parse_encoding(&args[3]));
        return;
    }
    if args.len() == 5 && args[1] == "--loop" {
        // For a profiler (or `perf stat`): count the whole corpus the given number of times.
        let all: String = corpus().iter().map(|(_, t)| t.as_str()).collect();
        let (counter, enc) = (parse_counter(&args[2]), parse_encoding(&args[3]));
        for _ in 0..args[4].parse::<u32>().unwrap() {
            black_box(counter.count(enc, black_box(&all)));
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let runs = if quick { 3 } else { 11 };
    let budget = Duration::from_millis(if quick { 200 } else { 1500 });
    let exe = std::env::current_exe().unwrap();

    println!("Token estimation, native ({} {}), median of {runs} fresh processes", std::env::consts::ARCH, std::env::consts::OS);
    println!("{:<12} {:<7} {:>14} {:>14}", "counter", "enc", "first count ms", "second ms");
    for counter in [Counter::Ours, Counter::Tiktoken] {
        for name in ["o200k", "cl100k"] {
            let mut firsts = Vec::new();
            let mut seconds = Vec::new();
            for _ in 0..runs {
                let out = Command::new(&exe)
                    .args(["--first", if counter == Counter::Ours { "ours" } else { "tiktoken" }, name])
                    .output()
                    .unwrap();
                let text = String::from_utf8(out.stdout).unwrap();
                let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
                firsts.push(fields.next().unwrap() / 1e6);
                seconds.push(fields.next().unwrap() / 1e6);
            }
            println!("{:<12} {:<7} {:>14.3} {:>14.4}", counter.name(), name, median(firsts), median(seconds));
        }
    }

    let files = corpus();
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    println!();
    let clock = if thread_cpu().is_some() { "CPU time" } else { "wall time" };
    println!("Warm throughput, MB/s of {clock}, best 100 ms round (corpus: {} files, {} bytes)", files.len(), all.len());
    print!("{:<12} {:<7} {:>9}", "counter", "enc", "all");
    for (name, _) in &files {
        print!(" {name:>12}");
    }
    println!();
    for (enc, name) in [(Encoding::O200kBase, "o200k"), (Encoding::Cl100kBase, "cl100k")] {
        for counter in [Counter::Ours, Counter::Tiktoken] {
            assert_eq!(counter.count(enc, &all), Counter::Ours.count(enc, &all), "counts differ");
            print!("{:<12} {:<7} {:>9.1}", counter.name(), name, throughput(counter, enc, &all, budget));
            for (_, text) in &files {
                print!(" {:>12.1}", throughput(counter, enc, text, budget));
            }
            println!();
        }
    }

    // A long run of letters is one piece: tiktoken's heap path, our heap path.
    let long = "abcdefghij".repeat(10_000);
    println!();
    println!("One 100 KB piece (\"abcdefghij\" x 10000), ms per count");
    for counter in [Counter::Ours, Counter::Tiktoken] {
        let start = Instant::now();
        let n = counter.count(Encoding::O200kBase, &long);
        println!("{:<12} {:>9.2} ms ({n} tokens)", counter.name(), start.elapsed().as_secs_f64() * 1e3);
    }
}
