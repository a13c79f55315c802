//! `taskyard`: the console, the server, the external worker and the scripting CLI in one
//! binary (SPEC §11).

mod assets;
mod bench;
mod cli;
mod server;
mod worker;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc: the engine allocates and frees many small objects per task; glibc's
/// allocator spent a fifth of the engine benchmark growing and trimming its heap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "taskyard",
    version,
    about = "An asynchronous task engine and its operator console",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand: the console on a local sandbox.
    #[command(flatten)]
    console: taskyard::console::ConsoleArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Built-in throughput and latency benchmarks.
    Bench(bench::BenchArgs),
    /// The operator console, on a server (--server) or a local sandbox.
    Console(taskyard::console::ConsoleArgs),
    /// The console's config file: `--default` prints the default one.
    Config(taskyard::config::ConfigArgs),
    /// Serve the HTTP API.
    Serve(server::ServeArgs),
    /// Run a command per task as an external worker.
    Worker(worker::WorkerArgs),
    #[command(flatten)]
    Script(cli::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("taskyard: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Some(Command::Bench(args)) => bench::run(args).await,
            Some(Command::Console(args)) => taskyard::console::run(args, true).await,
            Some(Command::Config(args)) => taskyard::config::run(args),
            None => taskyard::console::run(cli.console, false).await,
            Some(Command::Serve(args)) => server::run(args).await,
            Some(Command::Worker(args)) => worker::run(args).await,
            Some(Command::Script(c)) => cli::run(c, Cli::command()).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taskyard: {e:#}");
            ExitCode::from(1)
        }
    }
}
