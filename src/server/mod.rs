//! `taskyard serve`: the HTTP server (SPEC §7) around one engine.

mod auth;
mod error;
mod extract;
mod gate;
mod metrics;
mod reply;
mod routes;

pub use auth::Auth;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use taskyard_core::engine::EngineConfig;
use taskyard_core::model::Definition;
use taskyard_core::runtime::{EngineHandle, RuntimeBuilder};
use taskyard_core::storage::{MemoryStorage, SqliteOptions, SqliteStorage, Storage, Synchronous};
use tokio::sync::watch;

#[derive(Args, Debug, Clone)]
#[command(
    long_about = "Serves the HTTP API (SPEC §7) on one engine.\n\nStorage: SQLite in WAL mode, DIR/taskyard.db under --data (nothing acknowledged is lost); --storage memory keeps everything in memory instead (lost when the server stops)."
)]
pub struct ServeArgs {
    /// Address to listen on; non-loopback needs --auth or TASKYARD_TOKEN (or --insecure).
    #[arg(long, default_value = "127.0.0.1:7571")]
    pub listen: SocketAddr,
    /// Data directory: taskyard.db and workspaces/. Default: the platform data directory.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where tasks are kept.
    #[arg(long, value_enum, default_value_t = StorageKind::Sqlite)]
    pub storage: StorageKind,
    /// SQLite `synchronous`: full (default, survives power loss), normal (survives a crash
    /// of the process), off.
    #[arg(long, default_value = "full")]
    pub synchronous: String,
    /// Register every *.json definition in this directory at start.
    #[arg(long)]
    pub definitions: Option<PathBuf>,
    /// Bearer tokens and roles, TOML (see docs/api.md).
    #[arg(long)]
    pub auth: Option<PathBuf>,
    /// One admin token, named `admin` (adds to --auth).
    #[arg(long = "admin-token", env = "TASKYARD_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Allow a non-loopback --listen without auth.
    #[arg(long)]
    pub insecure: bool,
    /// Do not register the built-in example definitions on an empty server.
    #[arg(long)]
    pub no_examples: bool,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body: usize,
    /// Most tasks one `run` action may create.
    #[arg(long, default_value_t = 10_000)]
    pub max_tasks_per_run: usize,
    /// Largest `conf` of a task, in bytes.
    #[arg(long, default_value_t = 256 * 1024)]
    pub max_conf_bytes: usize,
    /// Longest task log line, in bytes.
    #[arg(long, default_value_t = 8 * 1024)]
    pub max_log_line_bytes: usize,
    /// Interval of keep-alive comments on event streams, in milliseconds.
    #[arg(long, default_value_t = 15_000, hide = true)]
    pub sse_keep_alive_ms: u64,
    /// Events kept for replay to reconnecting clients; older ones get a `reset`.
    #[arg(long, default_value_t = 100_000, hide = true)]
    pub event_history: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum StorageKind {
    Sqlite,
    Memory,
}

/// The storage `serve` (and the HTTP benchmark) runs on.
pub fn open_storage(
    kind: StorageKind,
    dir: &Path,
    synchronous: &str,
) -> anyhow::Result<Arc<dyn Storage>> {
    Ok(match kind {
        StorageKind::Memory => Arc::new(MemoryStorage::new()),
        StorageKind::Sqlite => {
            let synchronous = Synchronous::parse(synchronous)
                .map_err(|e| anyhow::anyhow!("--synchronous: {e}"))?;
            Arc::new(SqliteStorage::open(
                dir,
                SqliteOptions {
                    synchronous,
                    ..SqliteOptions::default()
                },
            )?)
        }
    })
}

/// A server running on the current tokio runtime.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Graceful stop: no new connections, event streams and long polls end, in-flight
    /// requests finish (given up after `grace`).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut join = self.join;
        if tokio::time::timeout(grace, &mut join).await.is_err() {
            tracing::warn!("in-flight requests did not finish in {grace:?}; closing them");
            join.abort();
        }
    }
}

pub struct ServerOptions {
    pub auth: Auth,
    pub max_body: usize,
    pub keep_alive: Duration,
}

/// Binds and starts serving `engine`.
pub async fn start(
    engine: EngineHandle,
    listen: SocketAddr,
    options: ServerOptions,
) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let app = Arc::new(routes::Inner {
        engine,
        auth: options.auth,
        metrics: metrics::Metrics::default(),
        shutdown: stopped.clone(),
        keep_alive: options.keep_alive,
    });
    let router = routes::router(app, options.max_body);
    let mut signal = stopped;
    // Small request/reply pairs: Nagle's algorithm would hold replies back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serve = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = signal.wait_for(|s| *s).await;
    });
    let join = tokio::spawn(async move { serve.await });
    Ok(Running { addr, stop, join })
}

/// The engine limits from the command line; everything else default.
fn engine_config(args: &ServeArgs) -> EngineConfig {
    EngineConfig {
        seed: rand::random(),
        max_tasks_per_run: args.max_tasks_per_run,
        max_conf_bytes: args.max_conf_bytes,
        max_log_line_bytes: args.max_log_line_bytes,
        ..EngineConfig::default()
    }
}

fn data_dir(args: &ServeArgs) -> anyhow::Result<PathBuf> {
    match &args.data {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("taskyard"))
            .context("there is no platform data directory here; pass --data DIR"),
    }
}

/// Definitions from `*.json` files (one object or an array each), in file-name order.
pub fn read_definition_files(files: &[PathBuf]) -> anyhow::Result<Vec<Definition>> {
    let mut defs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        for item in items {
            let def: Definition = serde_json::from_value(item)
                .with_context(|| format!("{} is not a valid definition", file.display()))?;
            defs.push(def);
        }
    }
    Ok(defs)
}

fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the definitions directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

async fn register_definitions(engine: &EngineHandle, args: &ServeArgs) -> anyhow::Result<()> {
    // The examples go in only where the name is free, so edits made on a server survive.
    if !args.no_examples {
        let have: Vec<String> = engine.definitions().into_iter().map(|d| d.name).collect();
        for def in crate::assets::definitions()? {
            if !have.contains(&def.name) {
                engine.put_definition(def).await?;
            }
        }
    }
    if let Some(dir) = &args.definitions {
        for def in read_definition_files(&json_files(dir)?)? {
            let name = def.name.clone();
            engine
                .put_definition(def)
                .await
                .with_context(|| format!("definition `{name}` from {}", dir.display()))?;
        }
    }
    Ok(())
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `taskyard serve`.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut auth = match &args.auth {
        Some(path) => Auth::load(path).map_err(anyhow::Error::msg)?,
        None => Auth::default(),
    };
    if let Some(token) = &args.admin_token {
        auth.add_admin_token(token).map_err(anyhow::Error::msg)?;
    }
    if !auth.is_enabled() && !args.listen.ip().is_loopback() && !args.insecure {
        anyhow::bail!(
            "refusing to listen on {} without auth: anyone who can reach it could change tasks; give --auth FILE or TASKYARD_TOKEN, or --insecure if the network is trusted",
            args.listen
        );
    }
    let data = data_dir(&args)?;
    let workspaces = data.join("workspaces");
    std::fs::create_dir_all(&workspaces)
        .with_context(|| format!("cannot create {}", workspaces.display()))?;
    let storage = open_storage(args.storage, &data, &args.synchronous)?;
    let engine = RuntimeBuilder::new()
        .config(engine_config(&args))
        .storage(storage)
        .workspace_root(workspaces)
        .event_history(args.event_history.max(1))
        .start()?;
    register_definitions(&engine, &args).await?;
    let running = start(
        engine.clone(),
        args.listen,
        ServerOptions {
            auth,
            max_body: args.max_body,
            keep_alive: Duration::from_millis(args.sse_keep_alive_ms.max(1)),
        },
    )
    .await?;
    // Scripts and tests read the address from this first line.
    let storage = match args.storage {
        StorageKind::Sqlite => format!("{}", data.join("taskyard.db").display()),
        StorageKind::Memory => "memory, lost when the server stops".into(),
    };
    println!(
        "taskyard: listening on http://{} (storage: {storage})",
        running.addr
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    signal().await;
    eprintln!("taskyard: shutting down");
    running.stop(Duration::from_secs(10)).await;
    engine.shutdown().await;
    Ok(())
}
