//! `taskyard worker --definitions a,b --concurrency N -- CMD ARGS...`: an external worker
//! (SPEC §6). It long-polls for tasks, runs CMD once per task and reports back; see
//! [`run`] for one task's life. It survives the server going away: every call is retried
//! with backoff until the server answers.

mod process;
mod task;

use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use taskyard::client::{Client, ClientError, DEFAULT_SERVER};
use taskyard_core::api::PollRequest;
use tokio::task::JoinSet;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Definitions to take tasks of (comma-separated; they must be `external`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub definitions: Vec<String>,
    /// Tasks run at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// This worker's id as the server shows it [default: worker-<host>-<pid>].
    #[arg(long)]
    pub executor: Option<String>,
    /// Server URL [default: http://127.0.0.1:7571].
    #[arg(long, env = "TASKYARD_SERVER")]
    pub server: Option<String>,
    /// Bearer token (role executor or admin).
    #[arg(long, env = "TASKYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The command run per task: conf on stdin, result JSON on stdout, log on stderr.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// How long one long poll waits on the server.
const POLL_WAIT_MS: u64 = 20_000;

/// Backoff for calls to a server that does not answer: 100 ms doubling to 5 s.
pub struct Backoff(Duration);

impl Backoff {
    pub fn new() -> Backoff {
        Backoff(Duration::from_millis(100))
    }

    pub async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

fn default_executor_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("worker-{host}-{}", std::process::id())
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.concurrency > 1000 {
        crate::cli::usage("--concurrency must be from 1 to 1000");
    }
    let server = args.server.as_deref().unwrap_or(DEFAULT_SERVER);
    let client = Client::new(server, args.token.clone()).map_err(|e| crate::cli::usage(e))?;
    let executor = args.executor.clone().unwrap_or_else(default_executor_id);
    let command = Arc::new(args.command.clone());
    let mut running: JoinSet<()> = JoinSet::new();
    let mut backoff = Backoff::new();
    let mut first = true;
    let stop = stop_signal();
    tokio::pin!(stop);
    eprintln!(
        "taskyard worker {executor}: taking {} from {} ({} at once)",
        args.definitions.join(", "),
        client.base(),
        args.concurrency
    );
    loop {
        while running.try_join_next().is_some() {}
        let free = args.concurrency - running.len();
        if free == 0 {
            tokio::select! {
                _ = running.join_next() => continue,
                _ = &mut stop => break,
            }
        }
        let req = PollRequest {
            executor: executor.clone(),
            definitions: args.definitions.clone(),
            max: free as u32,
            wait_ms: if first { 0 } else { POLL_WAIT_MS },
        };
        let polled = tokio::select! {
            r = client.poll(&req) => r,
            _ = &mut stop => break,
        };
        match polled {
            Ok(tasks) => {
                first = false;
                backoff = Backoff::new();
                for t in tasks {
                    let (client, command) = (client.clone(), command.clone());
                    running.spawn(async move { task::run(client, t, command).await });
                }
            }
            // Refused outright at the start (unknown definition, bad token): stop here.
            Err(e @ ClientError::Api { .. }) if first && !e.is_transient() => {
                return Err(e.into());
            }
            Err(e) => {
                eprintln!("taskyard worker: poll failed ({e}); retrying");
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = &mut stop => break,
                }
            }
        }
    }
    if !running.is_empty() {
        eprintln!(
            "taskyard worker: stopping; waiting for {} running task(s) (signal again to kill them)",
            running.len()
        );
        tokio::select! {
            _ = async { while running.join_next().await.is_some() {} } => {}
            _ = stop_signal() => {
                // Dropping the tasks kills their commands (kill_on_drop).
                running.shutdown().await;
            }
        }
    }
    Ok(())
}
