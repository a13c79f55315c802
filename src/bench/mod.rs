//! `taskyard bench SCENARIO`: throughput and latency measured on this machine. Figures
//! are printed, never asserted.

mod console;
mod durable;
mod engine;
mod http;
mod recover;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// No-op `builtin:echo` tasks through the real runtime, in memory.
    Engine(engine::EngineBench),
    /// The HTTP server on loopback: run batches, worker drain, single runs.
    Http(http::HttpBench),
    /// The console over a local engine: frame time, filter/sort, behaviour under load.
    Console(console::ConsoleBench),
    /// The engine bench on SQLite with every change committed before its reply; also
    /// sequential single-task runs and this disk's fsync rate.
    Durable(durable::DurableBench),
    /// Restart time and memory per task on a data dir with many tasks.
    Recover(recover::RecoverBench),
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::Engine(b) => engine::run(b).await,
        Scenario::Http(b) => http::run(b).await,
        Scenario::Console(b) => console::run(b).await,
        Scenario::Durable(b) => durable::run(b).await,
        Scenario::Recover(b) => recover::run(b).await,
    }
}

/// Peak resident set size of this process, in MiB (Linux; `None` elsewhere).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
