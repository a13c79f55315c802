//! One task's life in a worker: start, run CMD with the conf on stdin, heartbeat and ship
//! its stderr lines to the task log while it runs, then report success (stdout as the
//! result JSON) or failure (exit status and the tail of stderr). When the server says the
//! attempt is over (canceled, stale, gone) the command is stopped at once.

use super::Backoff;
use super::process::Cmd;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use taskyard::client::{Client, ClientError};
use taskyard_core::ErrorCode;
use taskyard_core::api::{ExecRef, FailRequest, NotifyRequest, SuccessRequest};
use taskyard_core::model::Task;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// How often a running task is heartbeated.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a new stderr line waits for others to ship with it: live logs stay live,
/// and a chatty command still costs a few notifies a second, not one per line.
const LINE_DELAY: Duration = Duration::from_millis(100);
/// Lines shipped in one notify at most, and buffered while the server is away.
const LINES_PER_NOTIFY: usize = 100;
const MAX_BUFFERED_LINES: usize = 10_000;
/// Longest line shipped; the engine's default limit is 8 KiB.
const MAX_LINE_BYTES: usize = 8 * 1024 - 16;
/// Kept for the failure message.
const STDERR_TAIL_LINES: usize = 20;
/// Largest stdout (the result) read.
const MAX_STDOUT_BYTES: usize = 16 * 1024 * 1024;
/// Time given to CMD between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

fn truncate_line(mut line: String) -> String {
    if line.len() > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

/// Whether the server said this attempt is over for good.
fn attempt_over(e: &ClientError) -> bool {
    matches!(
        e.code(),
        Some(
            ErrorCode::TaskCanceled
                | ErrorCode::StaleExecution
                | ErrorCode::TaskNotFound
                | ErrorCode::TaskConcluded
        )
    )
}

/// Retries a call while the server cannot be reached; any answer ends it.
async fn persist<T, F, Fut>(mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut backoff = Backoff::new();
    loop {
        match call().await {
            Err(e) if e.is_transient() => backoff.wait().await,
            other => return other,
        }
    }
}

pub async fn run(client: Client, task: Task, command: Arc<Vec<String>>) {
    let id = task.id;
    let Some(exec_id) = task.exec_id else {
        return;
    };
    let exec = ExecRef { id, exec_id };
    let started = match persist(|| client.start(exec)).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("taskyard worker: task {id}: start refused ({e}); skipping it");
            return;
        }
    };
    let env = [
        ("TASKYARD_TASK_ID", id.to_string()),
        ("TASKYARD_EXEC_ID", exec_id.to_string()),
        ("TASKYARD_ATTEMPT", started.attempt.to_string()),
        ("TASKYARD_TASK_NAME", started.name.to_string()),
    ];
    let mut cmd = match Cmd::spawn(&command, &env) {
        Ok(c) => c,
        Err(e) => {
            let message = format!("cannot start `{}`: {e}", command.join(" "));
            report_fail(
                &client,
                exec,
                message,
                json!({ "spawn_error": e.to_string() }),
            )
            .await;
            return;
        }
    };

    // conf on stdin, then EOF.
    if let Some(mut stdin) = cmd.child.stdin.take() {
        let conf = serde_json::to_vec(&started.conf).unwrap_or_default();
        tokio::spawn(async move {
            let _ = stdin.write_all(&conf).await;
            let _ = stdin.shutdown().await;
        });
    }
    let stdout = cmd.child.stdout.take().map(|mut out| {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut limited = (&mut out).take(MAX_STDOUT_BYTES as u64 + 1);
            let _ = limited.read_to_end(&mut buf).await;
            buf
        })
    });
    let (line_tx, mut lines) = mpsc::channel::<String>(1024);
    if let Some(err) = cmd.child.stderr.take() {
        tokio::spawn(async move {
            let mut reader = BufReader::new(err).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if line_tx.send(line).await.is_err() {
                    break;
                }
            }
        });
    }

    let mut buffered: Vec<String> = Vec::new();
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut take = |line: String, buffered: &mut Vec<String>| {
        let line = truncate_line(line);
        tail.push_back(line.clone());
        if tail.len() > STDERR_TAIL_LINES {
            tail.pop_front();
        }
        if buffered.len() < MAX_BUFFERED_LINES {
            buffered.push(line);
        }
    };
    let mut ticker = tokio::time::interval(HEARTBEAT);
    ticker.tick().await;
    let mut lines_open = true;
    // When the buffered lines go out, if there are any.
    let mut ship_at: Option<tokio::time::Instant> = None;
    let status = loop {
        let flush_now = tokio::select! {
            status = cmd.child.wait() => {
                cmd.mark_reaped();
                break status;
            }
            line = lines.recv(), if lines_open => match line {
                Some(line) => {
                    take(line, &mut buffered);
                    ship_at.get_or_insert_with(|| tokio::time::Instant::now() + LINE_DELAY);
                    buffered.len() >= LINES_PER_NOTIFY
                }
                None => {
                    lines_open = false;
                    false
                }
            },
            _ = ticker.tick() => true,
            _ = sleep_until_some(ship_at) => true,
        };
        if flush_now {
            ship_at = None;
        }
        // A failed notify that is not the end of the attempt means the server is away
        // or busy: the lines stay buffered for the next tick.
        if flush_now
            && let Err(e) = notify(&client, exec, &mut buffered).await
            && attempt_over(&e)
        {
            cmd.terminate(KILL_GRACE).await;
            eprintln!("taskyard worker: task {id}: {e}; stopped the command");
            return;
        }
    };
    // The rest of stderr, then one last notify with it.
    while let Some(line) = lines.recv().await {
        take(line, &mut buffered);
    }
    while !buffered.is_empty() {
        match persist(|| notify_once(&client, exec, &buffered)).await {
            Ok(n) => {
                buffered.drain(..n);
            }
            Err(e) if attempt_over(&e) => {
                eprintln!("taskyard worker: task {id}: {e}; dropping its outcome");
                return;
            }
            Err(e) => {
                // A refused line batch should not lose the outcome.
                eprintln!("taskyard worker: task {id}: log lines refused ({e})");
                buffered.clear();
            }
        }
    }
    let stdout = match stdout {
        Some(h) => h.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let tail_text = tail.iter().cloned().collect::<Vec<_>>().join("\n");
    match status {
        Ok(s) if s.success() => report_success(&client, exec, &stdout).await,
        Ok(s) => {
            let (what, data) = match s.code() {
                Some(code) => (
                    format!("exited with code {code}"),
                    json!({ "exit_code": code }),
                ),
                None => {
                    #[cfg(unix)]
                    let signal = std::os::unix::process::ExitStatusExt::signal(&s);
                    #[cfg(not(unix))]
                    let signal: Option<i32> = None;
                    (
                        format!("was killed by signal {}", signal.unwrap_or(0)),
                        json!({ "signal": signal }),
                    )
                }
            };
            let last = tail.back().map(|l| format!(": {l}")).unwrap_or_default();
            let mut error = data;
            error["stderr_tail"] = Value::String(tail_text);
            report_fail(
                &client,
                exec,
                format!("`{}` {what}{last}", command.join(" ")),
                error,
            )
            .await;
        }
        Err(e) => {
            report_fail(
                &client,
                exec,
                format!("waiting for `{}` failed: {e}", command.join(" ")),
                json!({ "stderr_tail": tail_text }),
            )
            .await;
        }
    }
}

/// Heartbeat with up to [`LINES_PER_NOTIFY`] buffered lines; shipped lines leave the
/// buffer.
/// Sleeps until `at`, or forever without it.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn notify(
    client: &Client,
    exec: ExecRef,
    buffered: &mut Vec<String>,
) -> Result<(), ClientError> {
    let n = notify_once(client, exec, buffered).await?;
    buffered.drain(..n);
    Ok(())
}

async fn notify_once(
    client: &Client,
    exec: ExecRef,
    buffered: &[String],
) -> Result<usize, ClientError> {
    let n = buffered.len().min(LINES_PER_NOTIFY);
    let req = NotifyRequest {
        id: exec.id,
        exec_id: exec.exec_id,
        progress: None,
        log: (n > 0).then(|| buffered[..n].to_vec()),
    };
    client.notify(&req).await.map(|_| n)
}

async fn report_success(client: &Client, exec: ExecRef, stdout: &[u8]) {
    let text = String::from_utf8_lossy(stdout);
    let trimmed = text.trim();
    if stdout.len() > MAX_STDOUT_BYTES {
        let message = format!(
            "the command printed over {MAX_STDOUT_BYTES} bytes on stdout; a result must be smaller"
        );
        return report_fail(client, exec, message, Value::Null).await;
    }
    let result = if trimmed.is_empty() {
        None
    } else {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(v) => Some(v),
            Err(e) => {
                let head: String = trimmed.chars().take(200).collect();
                let message = format!(
                    "the command exited 0 but its stdout is not JSON ({e}); print the result as JSON, and log to stderr"
                );
                return report_fail(client, exec, message, json!({ "stdout_head": head })).await;
            }
        }
    };
    let req = SuccessRequest {
        id: exec.id,
        exec_id: exec.exec_id,
        result,
    };
    if let Err(e) = persist(|| client.succeed(&req)).await {
        eprintln!(
            "taskyard worker: task {}: success not accepted ({e})",
            exec.id
        );
    }
}

async fn report_fail(client: &Client, exec: ExecRef, message: String, error: Value) {
    let req = FailRequest {
        id: exec.id,
        exec_id: exec.exec_id,
        error: (!error.is_null()).then_some(error),
        message: Some(message),
    };
    if let Err(e) = persist(|| client.fail(&req)).await {
        eprintln!(
            "taskyard worker: task {}: failure not accepted ({e})",
            exec.id
        );
    }
}
