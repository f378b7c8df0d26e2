//! Decode serialized requests in a loop and print the rate (profiling aid, no Python):
//! `cargo run --release --example decode_bench -- traces FILE...`
use std::time::Instant;

use otlp_arrow_native::{decode, Signal};

fn main() {
    let mut args = std::env::args().skip(1);
    let signal = args
        .next()
        .and_then(|s| Signal::parse(&s))
        .expect("signal: traces, metrics or logs");
    let inputs: Vec<Vec<u8>> = args.map(|p| std::fs::read(p).expect("readable")).collect();
    let rows: usize = inputs
        .iter()
        .map(|b| decode(signal, b).expect("valid").rows)
        .sum();
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let mut best = f64::MAX;
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    for _ in 0..rounds {
        let start = Instant::now();
        for input in &inputs {
            std::hint::black_box(decode(signal, input).expect("valid"));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{rows} rows in {:.3} ms: {:.0} rows/s, {:.0} MB/s",
        best * 1e3,
        rows as f64 / best,
        bytes as f64 / best / 1e6
    );
}
