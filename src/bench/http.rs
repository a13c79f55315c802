//! `taskyard bench http`: the engine behind the real HTTP server on loopback, driven by
//! the real client, in five phases:
//! 1. the transport floor: phase 3's worker loops against a bare axum server that
//!    answers at once (`transport.rs`), the most any drain can reach here; first, so
//!    that nothing of the engine's storage (its writeback) runs beside it;
//! 2. `run` actions of `--batch` tasks (1,000) from one client: tasks accepted per second;
//! 3. draining them with `--workers` external worker loops (poll `max` 100, then `start`
//!    and `success` per task, `--inflight` calls at once per loop);
//! 4. single-task `run` requests from one client, one after the other;
//! 5. the same from `--clients` (16) concurrent clients.
//!
//! Client and server share this process and its cores, so the figures are a floor.
//! Each phase also reports the process's CPU time per task (client, server, engine and
//! writer together): on a shared, busy machine that is steadier than the rates.
//! Storage is SQLite (synchronous=full) in a temporary directory unless `--storage memory`.

use crate::server::{self, Auth, ServerOptions, StorageKind};
use clap::Args;
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use taskyard::client::{Client, Receipt};
use taskyard_core::api::{Action, ExecRef, PollRequest, SuccessRequest};
use taskyard_core::model::{Definition, ExecutorKind, RunItem, TaskSpec};
use taskyard_core::runtime::RuntimeBuilder;

#[derive(Args, Debug)]
pub struct HttpBench {
    /// Tasks submitted in batches and then drained.
    #[arg(long, default_value_t = 100_000)]
    tasks: usize,
    /// External worker loops draining them.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Executor calls each worker loop has in flight at once.
    #[arg(long, default_value_t = 16)]
    inflight: usize,
    /// Tasks per `run` action in the batch phase.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Single-task `run` requests in the sequential and concurrent phases.
    #[arg(long, default_value_t = 20_000)]
    singles: usize,
    /// Concurrent clients in the last phase.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Where tasks are kept (SQLite in a temporary directory by default).
    #[arg(long, value_enum, default_value_t = StorageKind::Sqlite)]
    storage: StorageKind,
    /// Clients speak HTTP/2 over cleartext (one connection for all calls in flight)
    /// instead of HTTP/1.1 (one connection per call in flight).
    #[arg(long)]
    http2: bool,
    /// Repeat everything this many times (a fresh server and data dir each) and report
    /// each figure's median, with every run's figures alongside in `--json`.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

/// Wall time and process CPU time of one phase.
struct Phase {
    wall: Instant,
    cpu: Duration,
}

impl Phase {
    fn start() -> Phase {
        Phase {
            wall: Instant::now(),
            cpu: super::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID),
        }
    }

    /// (seconds elapsed, CPU microseconds per task).
    fn end(self, tasks: usize) -> (f64, f64) {
        let cpu = super::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).saturating_sub(self.cpu);
        (
            self.wall.elapsed().as_secs_f64(),
            (cpu.as_secs_f64() * 1e6 / tasks.max(1) as f64 * 10.0).round() / 10.0,
        )
    }
}

fn run_action(n: usize) -> Action {
    Action::Run {
        tasks: (0..n)
            .map(|_| RunItem::New(Box::new(TaskSpec::new("bench"))))
            .collect(),
        ignore: false,
    }
}

/// The bench's client of the server at `addr`, over HTTP/2 (cleartext) or HTTP/1.1.
pub(super) fn client_for(addr: std::net::SocketAddr, http2: bool) -> anyhow::Result<Client> {
    let base = format!("http://{addr}");
    Ok(if http2 {
        Client::new_http2(&base, None)?
    } else {
        Client::new(&base, None)?
    })
}

/// One worker loop: long-poll up to 100, then start and succeed each, `inflight` at once,
/// until the loops together have claimed `total` (so none sits in a long poll at the end).
pub(super) async fn worker_loop(
    client: Client,
    name: String,
    claimed: Arc<AtomicUsize>,
    total: usize,
    inflight: usize,
) -> anyhow::Result<()> {
    let req = PollRequest {
        executor: name,
        definitions: vec!["bench".into()],
        max: 100,
        wait_ms: 200,
    };
    while claimed.load(Ordering::Relaxed) < total {
        // Receipts, not whole tasks: the loop needs only the claim, and decoding what it
        // does not use would be counted against the server.
        let tasks: Vec<Receipt> = client.poll_as(&req).await?;
        claimed.fetch_add(tasks.len(), Ordering::Relaxed);
        let calls = futures::stream::iter(tasks.into_iter().filter_map(|t| {
            let exec = ExecRef {
                id: t.id,
                exec_id: t.exec_id?,
            };
            let client = client.clone();
            Some(async move {
                client.start_as::<Receipt>(exec).await?;
                client
                    .succeed_as::<Receipt>(&SuccessRequest {
                        id: exec.id,
                        exec_id: exec.exec_id,
                        result: None,
                    })
                    .await
            })
        }))
        .buffer_unordered(inflight.max(1));
        let results: Vec<_> = calls.collect().await;
        for r in results {
            r?;
        }
    }
    Ok(())
}

pub async fn run(args: HttpBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.tasks > 0 && args.workers > 0 && args.clients > 0 && args.runs > 0,
        "--tasks, --workers, --clients and --runs must be at least 1"
    );
    anyhow::ensure!(
        (1..=10_000).contains(&args.batch),
        "--batch must be from 1 to 10000"
    );
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(once(&args).await?);
    }
    // Every figure that varies is a median; the settings are the same in every run.
    let mut report = runs[0].clone();
    if let Some(fields) = report.as_object_mut() {
        for (key, value) in fields.iter_mut() {
            if value.is_number() && runs.iter().any(|r| r[key.as_str()] != *value) {
                *value = json!(super::median(&runs, key));
            }
        }
        if args.runs > 1 {
            fields.insert("runs".into(), json!(runs));
        }
    }
    let figure = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
    if args.json {
        println!("{report}");
    } else {
        println!(
            "http ({} tasks, {:?} storage{}): run batches of {} {:.0} tasks/s; drain with {} workers {:.0} tasks/s; single runs {:.0}/s sequential, {:.0}/s from {} clients; transport floor of the drain {:.0} tasks/s",
            args.tasks,
            args.storage,
            if args.runs > 1 {
                format!(", median of {} runs", args.runs)
            } else {
                String::new()
            },
            args.batch,
            figure("batch_run_tasks_per_s"),
            args.workers,
            figure("drain_tasks_per_s"),
            figure("single_run_sequential_per_s"),
            figure("single_run_concurrent_per_s"),
            args.clients,
            figure("floor_drain_tasks_per_s"),
        );
    }
    Ok(())
}

/// One run of the five phases, on a fresh server and data dir; returns its figures.
async fn once(args: &HttpBench) -> anyhow::Result<serde_json::Value> {
    // 1. The transport floor of phase 3.
    let phase = Phase::start();
    super::transport::drain(args.tasks, args.workers, args.inflight, args.http2).await?;
    let (floor_s, floor_cpu) = phase.end(args.tasks);

    let data = tempfile::tempdir()?;
    let storage = server::open_storage(args.storage, data.path(), "full")?;
    let engine = RuntimeBuilder::new()
        .storage(storage)
        .workspace_root(data.path().join("workspaces"))
        .start()?;
    let mut def = Definition::new("bench", ExecutorKind::External);
    def.allowed_retry_count = 0;
    def.in_progress_timeout_ms = 600_000;
    def.requested_to_start_timeout_ms = 600_000;
    engine.put_definition(def).await?;
    let running = server::start(
        engine.clone(),
        "127.0.0.1:0".parse()?,
        ServerOptions {
            auth: Auth::default(),
            max_body: 16 * 1024 * 1024,
            keep_alive: Duration::from_secs(15),
        },
    )
    .await?;
    let client = client_for(running.addr, args.http2)?;

    // 2. Batches.
    let phase = Phase::start();
    let mut submitted = 0;
    while submitted < args.tasks {
        let n = args.batch.min(args.tasks - submitted);
        client.act(&run_action(n)).await?;
        submitted += n;
    }
    let (batch_s, batch_cpu) = phase.end(args.tasks);

    // 3. Drain.
    let claimed = Arc::new(AtomicUsize::new(0));
    let phase = Phase::start();
    let loops: Vec<_> = (0..args.workers)
        .map(|i| {
            tokio::spawn(worker_loop(
                client.clone(),
                format!("bench-{i}"),
                claimed.clone(),
                args.tasks,
                args.inflight,
            ))
        })
        .collect();
    for l in loops {
        l.await??;
    }
    let (drain_s, drain_cpu) = phase.end(args.tasks);

    // 4. Single-task runs, one after the other.
    let singles = args.singles.max(1);
    let sequential = (singles / 4).max(1);
    let phase = Phase::start();
    for _ in 0..sequential {
        client.act(&run_action(1)).await?;
    }
    let (sequential_s, sequential_cpu) = phase.end(sequential);

    // 5. Single-task runs from concurrent clients.
    let per_client = singles.div_ceil(args.clients);
    let phase = Phase::start();
    let clients: Vec<_> = (0..args.clients)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..per_client {
                    client.act(&run_action(1)).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for c in clients {
        c.await??;
    }
    let (concurrent_s, concurrent_cpu) = phase.end(per_client * args.clients);

    running.stop(Duration::from_secs(5)).await;
    engine.shutdown().await;

    let rate = |n: usize, s: f64| (n as f64 / s).round();
    Ok(json!({
        "scenario": "http",
        "storage": format!("{:?}", args.storage).to_lowercase(),
        "tasks": args.tasks,
        "workers": args.workers,
        "inflight": args.inflight,
        "http": if args.http2 { "2" } else { "1.1" },
        "batch": args.batch,
        "batch_run_tasks_per_s": rate(args.tasks, batch_s),
        "batch_run_cpu_us_per_task": batch_cpu,
        "drain_tasks_per_s": rate(args.tasks, drain_s),
        "drain_cpu_us_per_task": drain_cpu,
        "single_run_sequential_per_s": rate(sequential, sequential_s),
        "single_run_sequential_cpu_us": sequential_cpu,
        "clients": args.clients,
        "single_run_concurrent_per_s": rate(per_client * args.clients, concurrent_s),
        "single_run_concurrent_cpu_us": concurrent_cpu,
        "floor_drain_tasks_per_s": rate(args.tasks, floor_s),
        "floor_drain_cpu_us_per_task": floor_cpu,
        "peak_rss_mib": super::peak_rss_mib(),
    }))
}
