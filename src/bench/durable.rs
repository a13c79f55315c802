//! `taskyard bench durable`: the engine bench on SQLite, every change committed before it
//! is acknowledged (SPEC §8). Three figures:
//!
//! - this disk's fsync rate: 4 KiB writes, each followed by `fdatasync`, in place in a
//!   preallocated file like SQLite's reused WAL (and, for reference, appending);
//! - sequential single-task `run` actions, each waiting for its reply (so its commit):
//!   bound by that fsync rate. The disk's speed wanders (other work on the machine), so
//!   the two are measured in alternating rounds and each figure sums its rounds;
//! - throughput: N no-op `builtin:echo` tasks submitted concurrently and run to `done`,
//!   timed until the last one is committed: group commit at work.

use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use taskyard_core::api::{Action, Requester};
use taskyard_core::model::{Definition, ExecutorKind, RunItem, TaskSpec};
use taskyard_core::runtime::{EngineHandle, RuntimeBuilder};
use taskyard_core::storage::{SqliteOptions, SqliteStorage, Synchronous, workspaces_dir};

#[derive(Args, Debug)]
pub struct DurableBench {
    #[command(flatten)]
    echo: super::EchoArgs,
    /// Sequential single-task `run` actions to time (0: skip that figure).
    #[arg(long, default_value_t = 1_000)]
    sequential: usize,
    /// SQLite's `synchronous`: off, normal or full (full: nothing acknowledged is lost).
    #[arg(long, default_value = "full", value_parser = Synchronous::parse)]
    sync: Synchronous,
    /// Data dir to use (must not hold a database yet); default: a fresh temporary dir.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: DurableBench) -> anyhow::Result<()> {
    args.echo.check()?;
    let temp;
    let dir = match &args.data {
        Some(d) => {
            anyhow::ensure!(
                !d.join("taskyard.db").exists(),
                "{} already holds a database; give --data an empty or new directory",
                d.display()
            );
            d.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    let append_fsync_per_s = fsync_rate(&dir, Duration::from_secs(1), true)?.rate();

    let storage = SqliteStorage::open(
        &dir,
        SqliteOptions {
            synchronous: args.sync,
            ..SqliteOptions::default()
        },
    )?;
    let engine = RuntimeBuilder::new()
        .storage(Arc::new(storage))
        .workspace_root(workspaces_dir(&dir))
        .start()?;
    for def in crate::assets::definitions()? {
        engine.put_definition(def).await?;
    }
    engine
        .put_definition(Definition::new("bench-seq", ExecutorKind::External))
        .await?;

    // On a fresh data dir every commit appends to the WAL (the disk also journals the
    // file's growth); once the WAL has been checkpointed and restarted, commits write it
    // in place, as on any data dir in use for a while. Both are worth knowing.
    let fresh = sequential_and_fsync(&engine, &dir, args.sequential).await?;
    let (seconds, submitted) = super::echo_throughput(&engine, &args.echo).await?;
    let warm = sequential_and_fsync(&engine, &dir, args.sequential).await?;
    let counts = engine.counts();
    engine.shutdown().await;

    let tasks_per_s = args.echo.tasks as f64 / seconds;
    let rss = super::peak_rss_mib();
    let db_mib = std::fs::metadata(dir.join("taskyard.db"))
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .ok();
    if args.json {
        println!(
            "{}",
            json!({
                "scenario": "durable",
                "sync": format!("{:?}", args.sync).to_lowercase(),
                "tasks": args.echo.tasks,
                "threads": args.echo.threads,
                "batch": args.echo.batch,
                "seconds": seconds,
                "tasks_per_s": tasks_per_s.round(),
                "submit_seconds": submitted,
                "succeeded": counts.by_outcome.get("succeeded"),
                "sequential_runs": args.sequential,
                "sequential_fresh_wal": fresh.to_json(),
                "sequential_warm_wal": warm.to_json(),
                "append_fsync_per_s": append_fsync_per_s.round(),
                "db_mib": db_mib,
                "peak_rss_mib": rss,
            })
        );
    } else {
        println!(
            "durable ({:?} sync): {} tasks over {} threads in {seconds:.3} s = {tasks_per_s:.0} tasks/s (submitted in {submitted:.3} s, peak RSS {:.0} MiB)",
            args.sync,
            args.echo.tasks,
            args.echo.threads,
            rss.unwrap_or(0.0)
        );
        for (which, seq) in [("a fresh", &fresh), ("a warm", &warm)] {
            if let Some(runs) = seq.runs_per_s {
                println!(
                    "sequential single-task runs on {which} WAL: {runs:.0}/s, {:.2}× this disk's fsync rate measured in the same rounds ({:.0}/s in place; {append_fsync_per_s:.0}/s appending)",
                    runs / seq.fsync_per_s,
                    seq.fsync_per_s
                );
            }
        }
    }
    Ok(())
}

/// Sequential single-task runs per second, and the disk's in-place fsync rate measured
/// in the same period.
struct Sequential {
    runs_per_s: Option<f64>,
    fsync_per_s: f64,
}

impl Sequential {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "runs_per_s": self.runs_per_s.map(f64::round),
            "fsync_per_s": self.fsync_per_s.round(),
            "runs_vs_fsync": self.runs_per_s.map(|r| (r / self.fsync_per_s * 100.0).round() / 100.0),
        })
    }
}

/// Sequential single-task runs (none when `n` is 0) and the in-place fsync rate,
/// measured in alternating rounds.
async fn sequential_and_fsync(
    engine: &EngineHandle,
    dir: &Path,
    n: usize,
) -> anyhow::Result<Sequential> {
    const ROUNDS: usize = 4;
    let mut fsync = Rate::default();
    let mut runs = Rate::default();
    for round in 0..ROUNDS {
        fsync.add(fsync_rate(dir, Duration::from_millis(250), false)?);
        let share = n / ROUNDS + usize::from(round < n % ROUNDS);
        if share > 0 {
            runs.add(sequential(engine, share).await?);
        }
    }
    Ok(Sequential {
        runs_per_s: (n > 0).then(|| runs.rate()),
        fsync_per_s: fsync.rate(),
    })
}

/// Events over time.
#[derive(Default, Clone, Copy)]
struct Rate {
    count: u64,
    seconds: f64,
}

impl Rate {
    fn add(&mut self, other: Rate) {
        self.count += other.count;
        self.seconds += other.seconds;
    }

    fn rate(self) -> f64 {
        self.count as f64 / self.seconds
    }
}

/// 4 KiB writes, each made durable with `fdatasync`, for `for_at_least`: appending
/// (the file grows, so its size is journaled too) or in place in a preallocated file.
fn fsync_rate(dir: &Path, for_at_least: Duration, append: bool) -> anyhow::Result<Rate> {
    use std::io::{Seek, SeekFrom};
    const BLOCKS: u64 = 256;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = [0x5au8; 4096];
    if !append {
        for _ in 0..BLOCKS {
            file.write_all(&block)?;
        }
        file.sync_all()?;
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < for_at_least || n < 10 {
        if !append {
            file.seek(SeekFrom::Start(u64::from(n) % BLOCKS * 4096))?;
        }
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    let rate = Rate {
        count: u64::from(n),
        seconds: start.elapsed().as_secs_f64(),
    };
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(rate)
}

/// One `run` of one task at a time, each waiting for its (committed) reply.
async fn sequential(engine: &EngineHandle, n: usize) -> anyhow::Result<Rate> {
    let who = Requester::new("bench");
    let start = Instant::now();
    for _ in 0..n {
        engine
            .act(
                Action::Run {
                    tasks: vec![RunItem::New(Box::new(TaskSpec::new("bench-seq")))],
                    ignore: false,
                },
                who.clone(),
            )
            .await?;
    }
    Ok(Rate {
        count: n as u64,
        seconds: start.elapsed().as_secs_f64(),
    })
}
