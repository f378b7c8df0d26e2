//! Transcode OTLP/JSON requests in a loop and print the rate (profiling aid, no Python):
//! `cargo run --release --example json_bench -- traces FILE...`
use std::time::Instant;

use otlp_arrow_native::{decode, json_in, Signal};

fn main() {
    let mut args = std::env::args().skip(1);
    let signal = args
        .next()
        .and_then(|s| Signal::parse(&s))
        .expect("signal: traces, metrics or logs");
    let inputs: Vec<Vec<u8>> = args.map(|p| std::fs::read(p).expect("readable")).collect();
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let (mut transcode, mut both) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let start = Instant::now();
        for input in &inputs {
            std::hint::black_box(json_in::transcode(signal, input).expect("decided"));
        }
        transcode = transcode.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for input in &inputs {
            let wire = json_in::transcode(signal, input).expect("decided");
            std::hint::black_box(decode(signal, &wire).expect("valid"));
        }
        both = both.min(start.elapsed().as_secs_f64());
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "transcode {:.0} MB/s, transcode+decode {:.0} MB/s",
        mb / transcode,
        mb / both
    );
}
