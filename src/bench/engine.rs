//! `taskyard bench engine`: N no-op `builtin:echo` tasks run→done through the real
//! runtime with memory storage.

use clap::Args;
use serde_json::json;
use taskyard_core::runtime::RuntimeBuilder;

#[derive(Args, Debug)]
pub struct EngineBench {
    /// How many tasks to run.
    #[arg(long, default_value_t = 200_000)]
    tasks: usize,
    /// Spread the tasks over this many threads (0: no threads).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Tasks per `run` action.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: EngineBench) -> anyhow::Result<()> {
    super::check_echo_args(args.tasks, args.batch)?;
    let workspaces = tempfile::tempdir()?;
    let engine = RuntimeBuilder::new()
        .workspace_root(workspaces.path().to_path_buf())
        .start()?;
    for def in crate::assets::definitions()? {
        engine.put_definition(def).await?;
    }

    let (seconds, submitted) =
        super::echo_throughput(&engine, args.tasks, args.threads, args.batch).await?;
    let counts = engine.counts();
    engine.shutdown().await;
    let tasks_per_s = args.tasks as f64 / seconds;
    let rss = super::peak_rss_mib();
    if args.json {
        println!(
            "{}",
            json!({
                "scenario": "engine",
                "tasks": args.tasks,
                "threads": args.threads,
                "batch": args.batch,
                "seconds": seconds,
                "tasks_per_s": tasks_per_s.round(),
                "submit_seconds": submitted,
                "succeeded": counts.by_outcome.get("succeeded"),
                "peak_rss_mib": rss,
            })
        );
    } else {
        println!(
            "engine: {} tasks over {} threads in {seconds:.3} s = {tasks_per_s:.0} tasks/s (submitted in {:.3} s, peak RSS {:.0} MiB)",
            args.tasks,
            args.threads,
            submitted,
            rss.unwrap_or(0.0)
        );
    }
    Ok(())
}
