//! `taskyard bench SCENARIO`: throughput and latency measured on this machine. Figures
//! are printed, never asserted.

mod console;
mod durable;
mod engine;
mod http;
mod recover;
mod transport;

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

/// CPU time so far on one of the `clock_gettime` CPU clocks (this thread's, this
/// process's); zero if it cannot be read.
pub fn cpu_time(clock: libc::clockid_t) -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass, which lives on our stack.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Peak resident set size of this process, in MiB (Linux; `None` elsewhere).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The median of `key` over JSON reports (the upper one of an even count); NaN if no
/// report has it as a number.
pub fn median(reports: &[serde_json::Value], key: &str) -> f64 {
    let mut xs: Vec<f64> = reports.iter().filter_map(|r| r[key].as_f64()).collect();
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The no-op `echo` workload of `bench engine` and `bench durable`.
#[derive(Args, Debug)]
pub struct EchoArgs {
    /// How many tasks to run.
    #[arg(long, default_value_t = 200_000)]
    pub tasks: usize,
    /// Spread the tasks over this many threads (0: no threads).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Tasks per `run` action.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
}

impl EchoArgs {
    /// Refuses values [`echo_throughput`] cannot run.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.tasks > 0, "--tasks must be at least 1");
        anyhow::ensure!(
            (1..=10_000).contains(&self.batch),
            "--batch must be between 1 and 10000 (the per-run limit)"
        );
        Ok(())
    }
}

/// Runs `tasks` no-op `echo` tasks (spread over `threads` threads, submitted in `run`
/// actions of `batch`) and returns the seconds until every one is done and committed, and seconds to submit them.
pub async fn echo_throughput(
    engine: &taskyard_core::runtime::EngineHandle,
    args: &EchoArgs,
) -> anyhow::Result<(f64, f64)> {
    let &EchoArgs {
        tasks,
        threads,
        batch,
    } = args;
    let who = taskyard_core::api::Requester::new("bench");
    let done_before = engine.counts().by_status.get("done").copied().unwrap_or(0) as usize;
    let start = std::time::Instant::now();
    let mut pending = Vec::new();
    let mut created = 0;
    while created < tasks {
        let n = batch.min(tasks - created);
        let specs = (created..created + n)
            .map(|i| {
                let mut spec = taskyard_core::model::TaskSpec::new("echo");
                if threads > 0 {
                    spec.thread = Some(format!("t{}", i % threads));
                }
                taskyard_core::model::RunItem::New(Box::new(spec))
            })
            .collect();
        created += n;
        let engine = engine.clone();
        let who = who.clone();
        pending.push(tokio::spawn(async move {
            engine
                .act(
                    taskyard_core::api::Action::Run {
                        tasks: specs,
                        ignore: false,
                    },
                    who,
                )
                .await
        }));
    }
    for p in pending {
        p.await??;
    }
    let submitted = start.elapsed().as_secs_f64();
    loop {
        let done = engine.counts().by_status.get("done").copied().unwrap_or(0) as usize;
        if done >= done_before + tasks {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    // `done` above is the engine's state; this waits until it is committed too.
    engine.sync().await;
    Ok((start.elapsed().as_secs_f64(), submitted))
}
