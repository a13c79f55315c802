//! `taskyard bench recover`: how long a restart takes on a data dir with N tasks (half
//! concluded, the rest a backlog waiting for workers), and how much memory the engine
//! then holds per task.
//!
//! The data dir is filled in this process; the restart is timed in a fresh child process
//! (this same binary), so its peak RSS is the restart's alone.

use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use taskyard_core::api::{Action, PollRequest, Requester, SuccessRequest};
use taskyard_core::engine::{Engine, EngineConfig, PollOutcome};
use taskyard_core::model::{Definition, ExecutorKind, RunItem, TaskSpec};
use taskyard_core::runtime::RuntimeBuilder;
use taskyard_core::storage::{
    Batch, SqliteOptions, SqliteStorage, Storage, Synchronous, workspaces_dir,
};
use taskyard_core::time::Millis;

#[derive(Args, Debug)]
pub struct RecoverBench {
    /// Tasks in the data dir.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: usize,
    /// Data dir: filled first if it holds no database (default: a temporary dir).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Tasks without conf keys or results, to show the engine's fixed cost per task
    /// (each small JSON object costs its own allocations on top).
    #[arg(long)]
    bare: bool,
    /// Restarts to time; the median is reported.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
    /// Internal: only open the data dir and report (the timed child process).
    #[arg(long, hide = true)]
    open_only: bool,
}

pub async fn run(args: RecoverBench) -> anyhow::Result<()> {
    if args.open_only {
        let dir = args
            .data
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--open-only needs --data"))?;
        return open_once(dir).await;
    }
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let temp;
    let dir = match &args.data {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    if !dir.join("taskyard.db").exists() {
        let start = Instant::now();
        fill(&dir, args.tasks, args.bare)?;
        eprintln!(
            "filled {} with {} tasks in {:.1} s",
            dir.display(),
            args.tasks,
            start.elapsed().as_secs_f64()
        );
    }
    let exe = std::env::current_exe()?;
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        let out = std::process::Command::new(&exe)
            .args(["bench", "recover", "--open-only", "--data"])
            .arg(&dir)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "the timed restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout)?;
        runs.push(v);
    }
    let median = |key: &str| super::median(&runs, key);
    let tasks = runs[0]["tasks"].as_u64().unwrap_or(0);
    let (open_s, rss) = (median("open_seconds"), median("peak_rss_mib"));
    let per_task = rss * 1024.0 * 1024.0 / tasks.max(1) as f64;
    if args.json {
        println!(
            "{}",
            json!({
                "scenario": "recover",
                "tasks": tasks,
                "open_seconds": open_s,
                "peak_rss_mib": rss,
                "bytes_per_task": per_task.round(),
                "db_mib": std::fs::metadata(dir.join("taskyard.db")).map(|m| m.len() as f64 / 1048576.0).ok(),
                "runs": runs,
            })
        );
    } else {
        println!(
            "recover: opened {tasks} tasks in {open_s:.3} s (median of {}), peak RSS {rss:.0} MiB = {per_task:.0} bytes/task",
            args.runs
        );
    }
    Ok(())
}

/// Opens the data dir as `serve` would, until recovery is committed; prints JSON.
async fn open_once(dir: &Path) -> anyhow::Result<()> {
    let start = Instant::now();
    let storage = SqliteStorage::open(dir, SqliteOptions::default())?;
    let engine = RuntimeBuilder::new()
        .storage(Arc::new(storage))
        .workspace_root(workspaces_dir(dir))
        .start()?;
    engine.sync().await;
    let seconds = start.elapsed().as_secs_f64();
    let tasks: u64 = engine.counts().by_status.values().sum();
    let rss = super::peak_rss_mib();
    engine.shutdown().await;
    println!(
        "{}",
        json!({"open_seconds": seconds, "tasks": tasks, "peak_rss_mib": rss})
    );
    Ok(())
}

/// Fills `dir` with `n` tasks through the engine itself: half run to success (with a
/// result and an attempt), the rest ready or waiting for workers (a tenth of them
/// delayed, a quarter on 64 threads).
fn fill(dir: &Path, n: usize, bare: bool) -> anyhow::Result<()> {
    let storage = SqliteStorage::open(
        dir,
        SqliteOptions {
            synchronous: Synchronous::Off,
            ..SqliteOptions::default()
        },
    )?;
    let mut engine = Engine::new(EngineConfig::default());
    engine.set_track_records(true);
    let mut now = Millis::from_datetime(chrono::Utc::now());
    let mut def = Definition::new("import", ExecutorKind::External);
    def.retention_ms = 30 * 24 * 3_600_000;
    engine.put_definition(def, now)?;
    let who = Requester::new("bench");
    let poll = PollRequest {
        executor: "worker-1".into(),
        definitions: vec!["import".into()],
        max: 1000,
        wait_ms: 0,
    };
    let mut created = 0;
    while created < n {
        let chunk = 10_000.min(n - created);
        let tasks = (created..created + chunk)
            .map(|i| {
                let mut s = TaskSpec::new("import");
                if !bare {
                    s.conf = Some(json!({"file": format!("inbox/{i:08}.csv")}));
                }
                if i % 10 == 9 {
                    s.execute_at = Some(now.plus_ms(3_600_000));
                }
                if i % 4 == 0 {
                    s.thread = Some(format!("lane-{}", i % 64));
                }
                RunItem::New(Box::new(s))
            })
            .collect();
        engine.apply(
            Action::Run {
                tasks,
                ignore: false,
            },
            &who,
            now,
        )?;
        created += chunk;
        // Conclude half of what exists so far.
        let mut to_finish = chunk / 2;
        while to_finish > 0 {
            let mut req = poll.clone();
            req.max = to_finish.min(1000) as u32;
            let PollOutcome::Claimed(claimed) = engine.poll(&req, 0, now)? else {
                break;
            };
            if claimed.is_empty() {
                break;
            }
            to_finish -= claimed.len();
            for t in claimed {
                let Some(exec_id) = t.exec_id else { continue };
                engine.succeed(
                    SuccessRequest {
                        id: t.id,
                        exec_id,
                        result: (!bare).then(|| json!({"rows": t.id % 1000})),
                    },
                    now,
                )?;
            }
        }
        let changes = engine.drain();
        storage.commit(&[Batch {
            events: Arc::new(changes.events),
            records: changes.records,
            next_id: changes.next_id,
            next_seq: changes.next_seq,
        }])?;
        now = now.plus_ms(1);
    }
    storage.close();
    Ok(())
}
