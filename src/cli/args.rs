//! The command line of the scripting subcommands (SPEC §11).

use clap::{Args, Subcommand};
use std::path::PathBuf;
use taskyard_core::model::TaskId;

/// How to reach the server; every scripting subcommand takes these.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// Server URL [default: http://127.0.0.1:7571].
    #[arg(long, env = "TASKYARD_SERVER")]
    pub server: Option<String>,
    /// Bearer token.
    #[arg(long, env = "TASKYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a task.
    Run(RunArgs),
    /// Cancel tasks (REF: 12, ref:42, query:<filter>).
    Cancel(RefArgs),
    /// Delete concluded tasks for good.
    Clean(RefArgs),
    /// Cancel (if needed) and clean tasks, whatever their state.
    Destroy(RefArgs),
    /// Conclude a task as succeeded.
    Conclude(ConcludeArgs),
    /// Pause threads.
    Pause(PauseArgs),
    /// Resume threads.
    Resume(ResumeArgs),
    /// List tasks.
    List(ListArgs),
    /// Show one task with its attempts and children.
    Show(ShowArgs),
    /// Print a task's log.
    Log(LogArgs),
    /// List threads.
    Threads(Conn),
    /// List definitions.
    Defs(Conn),
    /// Manage definitions.
    #[command(subcommand)]
    Def(DefCommand),
    /// List schedules with their next firing.
    Schedules(Conn),
    /// Manage schedules.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The definition (task type).
    pub name: String,
    /// Parameters: JSON, @FILE, or @- for standard input.
    #[arg(long)]
    pub conf: Option<String>,
    #[arg(long)]
    pub thread: Option<String>,
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Start no sooner than this many milliseconds from now.
    #[arg(long, conflicts_with = "at")]
    pub delay: Option<u64>,
    /// Start no sooner than this time (RFC 3339).
    #[arg(long)]
    pub at: Option<String>,
    /// Idempotency key.
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    pub ref_id: Option<i64>,
    #[arg(long)]
    pub parent: Option<TaskId>,
    #[arg(long)]
    pub desc: Option<String>,
    /// Limit of one attempt's in-progress time, in milliseconds.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Success does not conclude it; a `conclude` does.
    #[arg(long)]
    pub open: bool,
    /// Keep its workspace after it concludes.
    #[arg(long)]
    pub archive: bool,
    /// A terminal failure does not lock its thread.
    #[arg(long)]
    pub auto: bool,
    /// Store it as `created`; it starts when a run references it.
    #[arg(long)]
    pub hold: bool,
    /// Wait until it concludes; exit 1 unless it succeeded.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct RefArgs {
    /// Task references: 12, ref:42 (tasks with that ref_id), query:<filter>.
    #[arg(required = true, value_name = "REF")]
    pub refs: Vec<String>,
    /// Skip tasks the action does not apply to instead of refusing.
    #[arg(long)]
    pub ignore: bool,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct ConcludeArgs {
    pub id: TaskId,
    /// Conclude after this many milliseconds (0–5000).
    #[arg(long, default_value_t = 0)]
    pub delay: u64,
    /// The result: JSON, @FILE or @- (default: keep the executor's).
    #[arg(long)]
    pub result: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "THREAD")]
    pub threads: Vec<String>,
    /// Resume by itself at this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct ResumeArgs {
    #[arg(required = true, value_name = "THREAD")]
    pub threads: Vec<String>,
    /// Give the task that locked the thread one more attempt, first.
    #[arg(long = "continue")]
    pub continue_: bool,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub thread: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    /// Free text, or any filter terms (`status:failed age>10m !name:sum`).
    #[arg(short = 'q', long = "query")]
    pub query: Option<String>,
    /// A filter in the language of the console's `/`.
    #[arg(long)]
    pub filter: Option<String>,
    /// Sort by id, priority, created_at, updated_at, name, thread or status.
    #[arg(long)]
    pub sort: Option<String>,
    /// Descending order.
    #[arg(long)]
    pub desc: bool,
    /// Rows per page (1–1000).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Every matching task, page after page.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    pub id: TaskId,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    pub id: TaskId,
    /// Keep printing new entries until the task concludes.
    #[arg(short, long)]
    pub follow: bool,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Subcommand, Debug)]
pub enum DefCommand {
    /// Register or change definitions from JSON files (one object or an array each).
    Apply(ApplyArgs),
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Register or change schedules from JSON files (one object or an array each).
    Apply(ApplyArgs),
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}
