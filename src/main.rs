//! `taskyard`: the console, the server, the external worker and the scripting CLI in one
//! binary (SPEC §11).

mod assets;
mod bench;

use clap::{Parser, Subcommand};

/// mimalloc: the engine allocates and frees many small objects per task; glibc's
/// allocator spent a fifth of the engine benchmark growing and trimming its heap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "taskyard",
    version,
    about = "An asynchronous task engine and its operator console"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Built-in throughput and latency benchmarks.
    Bench(bench::BenchArgs),
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
            None => {
                eprintln!("taskyard: the console is not built yet; try `taskyard bench engine`");
                Ok(())
            }
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
