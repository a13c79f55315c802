//! The operator console (SPEC §9): a ratatui screen over a [`Source`], either the local
//! sandbox or a server.
//!
//! - [`state`]: what the console knows and how messages change it (pure);
//! - [`view`]: drawing, a pure function of the state;
//! - [`keymap`]: keys to commands, the one table input and help share;
//! - [`runner`]: the event loop; [`effect`]: the only calls to the source;
//! - [`inbox`]: the bounded intake of the event stream;
//! - [`harness`]: the same console without a terminal, for tests and benchmarks.
//!
//! [`Source`]: crate::source::Source

pub mod effect;
pub mod format;
pub mod harness;
pub mod inbox;
pub mod keymap;
pub mod layout;
pub mod runner;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod view;

use crate::config::Config;
use crate::sandbox::{self, WorkloadSpec};
use crate::source::Source;
use crate::source::local::LocalSource;
use crate::source::remote::RemoteSource;
use anyhow::Context as _;
use clap::Args;
use keymap::Keymap;
use state::{App, Options};
use std::path::PathBuf;
use std::sync::Arc;
use theme::Theme;

/// Options of the console, for `taskyard` and `taskyard console`.
#[derive(Args, Debug, Clone, Default)]
pub struct ConsoleArgs {
    /// A server URL, or the name of a server profile in the config file; without it,
    /// a local sandbox.
    #[arg(long, value_name = "URL|PROFILE")]
    pub server: Option<String>,
    /// Bearer token for the server.
    #[arg(long, env = "TASKYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Sandbox: run this workload file instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Sandbox: start with the workload stopped (W starts it).
    #[arg(long)]
    pub no_workload: bool,
    /// Sandbox: keep the engine's data (SQLite, workspaces) in this directory, across
    /// runs (default: a fresh temporary directory, removed on exit unless --keep).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Sandbox: keep the temporary data directory on exit, and say where it is.
    #[arg(long, conflicts_with = "data")]
    pub keep: bool,
    /// Hide and refuse every key that changes something.
    #[arg(long)]
    pub read_only: bool,
    /// Leave the mouse to the terminal (its own text selection).
    #[arg(long)]
    pub no_mouse: bool,
    /// Colours: dark or light (NO_COLOR turns colour off).
    #[arg(long, value_parser = ["dark", "light"])]
    pub theme: Option<String>,
    /// The config file (default: ~/.config/taskyard/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Seconds east of UTC here, for the clock and log times.
fn utc_offset_s() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Writes tracing output to `$TASKYARD_LOG`, if set: never to the terminal we draw on.
fn init_log_file() {
    let Some(path) = std::env::var_os("TASKYARD_LOG") else {
        return;
    };
    if let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
    }
}

/// The console's look and keys, from the arguments and the config file.
pub fn options(
    args: &ConsoleArgs,
    config: &Config,
    source: &dyn Source,
) -> anyhow::Result<Options> {
    let theme_name = args
        .theme
        .clone()
        .or_else(|| config.theme.clone())
        .unwrap_or_else(|| "dark".into());
    let mut theme = Theme::named(&theme_name).map_err(anyhow::Error::msg)?;
    if no_color() {
        theme = theme.monochrome();
    }
    let keymap = Keymap::with_overrides(&config.key_overrides()).map_err(anyhow::Error::msg)?;
    Ok(Options {
        mode: source.mode(),
        read_only: args.read_only,
        keymap,
        theme,
        utc_offset_s: utc_offset_s(),
        workload: source.workload(),
    })
}

/// `taskyard` and `taskyard console`: runs the console until the operator quits.
/// `subcommand` is true for `taskyard console`, which also reads `TASKYARD_SERVER`.
pub async fn run(mut args: ConsoleArgs, subcommand: bool) -> anyhow::Result<()> {
    init_log_file();
    let config = Config::load(args.config.as_deref())?;
    if subcommand && args.server.is_none() {
        args.server = std::env::var("TASKYARD_SERVER")
            .ok()
            .filter(|s| !s.is_empty());
    }
    let mouse = !args.no_mouse && config.mouse.unwrap_or(true);
    if let Some(server) = &args.server {
        // A profile name, else a URL.
        let (url, token) = match config.server(server) {
            Some(p) => (
                p.url.clone(),
                args.token.clone().or_else(|| p.token.clone()),
            ),
            None if server.contains("://") => (server.clone(), args.token.clone()),
            None => {
                let names: Vec<&str> = config.servers.keys().map(String::as_str).collect();
                anyhow::bail!(
                    "--server {server}: neither a URL (http://host:7571) nor a profile of the config file{}",
                    if names.is_empty() {
                        " (it has none; add [servers.NAME] with a url)".to_string()
                    } else {
                        format!(" (its profiles: {})", names.join(", "))
                    }
                );
            }
        };
        let client = crate::client::Client::new(&url, token).map_err(anyhow::Error::msg)?;
        let source: Arc<dyn Source> = Arc::new(RemoteSource::new(client));
        let options = options(&args, &config, &*source)?;
        let (mut terminal, guard) = terminal::enter(mouse)?;
        let result = runner::run(&mut terminal, source, App::new(options)).await;
        drop(guard);
        return result;
    }
    let spec = match &args.workload {
        Some(path) => WorkloadSpec::load(path)?,
        None => WorkloadSpec::builtin()?,
    };
    // Without --data, a fresh directory: removed on exit (when `temp` drops) unless --keep.
    let (data, temp) = match &args.data {
        Some(dir) => (dir.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("taskyard-sandbox-")
                .tempdir()
                .context("cannot create the sandbox's data directory")?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let (engine, workload) = sandbox::start(spec, !args.no_workload, &data).await?;
    let source: Arc<dyn Source> = Arc::new(LocalSource::sandbox(engine.clone(), workload.clone()));
    let options = options(&args, &config, &*source)?;

    let result = {
        let (mut terminal, guard) = terminal::enter(mouse)?;
        let result = runner::run(&mut terminal, source, App::new(options)).await;
        drop(guard);
        result
    };
    workload.stop();
    engine.shutdown().await;
    if let Some(t) = temp
        && args.keep
    {
        let kept = t.keep();
        eprintln!(
            "taskyard: the sandbox's data is kept in {} (open it again with --data)",
            kept.display()
        );
    }
    result
}
