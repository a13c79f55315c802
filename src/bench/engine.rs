//! `taskyard bench engine`: N no-op `builtin:echo` tasks run→done through the real
//! runtime with memory storage.

use clap::Args;
use serde_json::json;
use taskyard_core::runtime::RuntimeBuilder;

#[derive(Args, Debug)]
pub struct EngineBench {
    #[command(flatten)]
    echo: super::EchoArgs,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: EngineBench) -> anyhow::Result<()> {
    args.echo.check()?;
    let workspaces = tempfile::tempdir()?;
    let engine = RuntimeBuilder::new()
        .workspace_root(workspaces.path().to_path_buf())
        .start()?;
    for def in crate::assets::definitions()? {
        engine.put_definition(def).await?;
    }

    let (seconds, submitted) = super::echo_throughput(&engine, &args.echo).await?;
    let counts = engine.counts();
    engine.shutdown().await;
    let tasks_per_s = args.echo.tasks as f64 / seconds;
    let rss = super::peak_rss_mib();
    if args.json {
        println!(
            "{}",
            json!({
                "scenario": "engine",
                "tasks": args.echo.tasks,
                "threads": args.echo.threads,
                "batch": args.echo.batch,
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
            args.echo.tasks,
            args.echo.threads,
            submitted,
            rss.unwrap_or(0.0)
        );
    }
    Ok(())
}
