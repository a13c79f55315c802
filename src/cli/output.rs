//! Human-readable output of the CLI (`--json` prints the server's replies instead).

use super::ids_text;
use std::fmt::Write as _;
use taskyard_core::api::ActionReply;
use taskyard_core::model::{Definition, LogEntry, ScheduleRow, Task, TaskDetail, ThreadRow};
use taskyard_core::time::Millis;

pub fn action_reply(reply: &ActionReply) -> String {
    match reply {
        ActionReply::Run { tasks } => tasks
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        ActionReply::Conclude { task, conclude_at } => {
            format!("task {task} concludes at {conclude_at}")
        }
        ActionReply::Cancel {
            canceled,
            cascaded,
            ignored,
        } => format!(
            "canceled: {}\ncascaded: {}\nignored: {}",
            ids_text(canceled),
            ids_text(cascaded),
            ids_text(ignored)
        ),
        ActionReply::Clean { cleaned, ignored } => format!(
            "cleaned: {}\nignored: {}",
            ids_text(cleaned),
            ids_text(ignored)
        ),
        ActionReply::Destroy { destroyed } => format!("destroyed: {}", ids_text(destroyed)),
        ActionReply::Pause { threads } => threads_short(threads),
        ActionReply::Resume { threads, continued } => format!(
            "{}\ncontinued: {}",
            threads_short(threads),
            ids_text(continued)
        ),
    }
}

fn threads_short(threads: &[ThreadRow]) -> String {
    threads
        .iter()
        .map(|t| format!("{} {}", t.name, thread_state(t)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn thread_state(t: &ThreadRow) -> String {
    match (t.locked_by, t.paused) {
        (Some(id), _) => format!("locked by task {id}"),
        (None, true) => match t.paused_until {
            Some(until) => format!("paused until {until}"),
            None => "paused".into(),
        },
        (None, false) => "running".into(),
    }
}

fn age(since: Millis) -> String {
    let now = Millis::from_datetime(chrono::Utc::now());
    let s = now.since(since) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn status_text(t: &Task) -> String {
    match (&t.outcome, &t.blocked_by) {
        (Some(o), _) => format!("done/{}", o.as_str()),
        (None, Some(b)) => format!("{} ({})", t.status.as_str(), b.as_str()),
        (None, None) => t.status.as_str().to_string(),
    }
}

pub fn task_table(tasks: &[Task], shown: usize, total: u64) -> String {
    let mut out = format!(
        "{:>8}  {:<16} {:<14} {:<28} {:>4} {:>3} {:>5}  {}\n",
        "ID", "NAME", "THREAD", "STATUS", "PRIO", "ATT", "AGE", "DESC"
    );
    for t in tasks {
        let _ = writeln!(
            out,
            "{:>8}  {:<16} {:<14} {:<28} {:>4} {:>3} {:>5}  {}",
            t.id,
            t.name,
            t.thread.as_deref().unwrap_or("-"),
            status_text(t),
            t.priority,
            t.attempt,
            age(t.created_at),
            t.desc.as_deref().unwrap_or("")
        );
    }
    if (shown as u64) < total {
        let _ = write!(out, "({shown} of {total}; --all for every one)");
    } else {
        let _ = write!(out, "({total} tasks)");
    }
    out
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .replace('\n', "\n  ")
}

pub fn detail(d: &TaskDetail) -> String {
    let t = &d.task;
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<14}{v}");
    };
    line("id", t.id.to_string());
    line("name", t.name.to_string());
    line("status", status_text(t));
    if let Some(r) = &t.outcome_reason {
        line("reason", format!("{}: {}", r.kind.as_str(), r.message));
    }
    if let Some(th) = &t.thread {
        line("thread", th.to_string());
    }
    if let Some(k) = &t.key {
        line("key", k.to_string());
    }
    if let Some(p) = t.parent {
        line("parent", p.to_string());
    }
    if let Some(r) = t.ref_id {
        line("ref_id", r.to_string());
    }
    if let Some(r) = t.rerun_of {
        line("rerun_of", r.to_string());
    }
    line("priority", t.priority.to_string());
    line(
        "attempt",
        format!("{} (retries {})", t.attempt, t.retry_count),
    );
    if let Some(e) = &t.executor {
        line("executor", e.to_string());
    }
    if let Some(p) = t.progress {
        line("progress", format!("{:.0}%", p * 100.0));
    }
    if t.awaiting_conclude {
        line("awaiting", "conclude".into());
    }
    line("requester", t.requester.to_string());
    line("created_at", t.created_at.to_string());
    if let Some(s) = t.started_at {
        line("started_at", s.to_string());
    }
    if let Some(c) = t.concluded_at {
        line("concluded_at", c.to_string());
    }
    if let Some(d) = &t.desc {
        line("desc", d.to_string());
    }
    line("conf", pretty(&t.conf.value()));
    if let Some(r) = &t.result {
        line("result", pretty(&r.value()));
    }
    if let Some(e) = &t.error {
        line("error", pretty(&e.value()));
    }
    if !d.children.is_empty() {
        line("children", ids_text(&d.children));
    }
    if !d.workspace_files.is_empty() {
        line("files", d.workspace_files.join(", "));
    }
    for a in &d.attempts {
        let reason = a
            .reason
            .as_ref()
            .map(|r| {
                if r.message.is_empty() {
                    r.kind.as_str().to_string()
                } else {
                    format!("{}: {}", r.kind.as_str(), r.message)
                }
            })
            .unwrap_or_else(|| "running".into());
        line(
            &format!("attempt {}", a.attempt),
            format!(
                "{} by {} at {}: {reason}",
                a.exec_id, a.executor, a.started_at
            ),
        );
    }
    out.trim_end().to_string()
}

pub fn log_entry(e: &LogEntry) -> String {
    match (e.from, e.to) {
        (from, Some(to)) => format!(
            "{:>5} {} [{} → {}] {}",
            e.seq,
            e.at,
            from.map_or("new", |f| f.as_str()),
            to.as_str(),
            e.message
        ),
        _ => format!("{:>5} {} {}", e.seq, e.at, e.message),
    }
}

pub fn threads(rows: &[ThreadRow]) -> String {
    let mut out = format!(
        "{:<24} {:<28} {:>8}  {}\n",
        "THREAD", "STATE", "CURRENT", "COUNTS"
    );
    for t in rows {
        let counts = t
            .counts
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "{:<24} {:<28} {:>8}  {}",
            t.name,
            thread_state(t),
            t.current.map_or("-".into(), |c| c.to_string()),
            counts
        );
    }
    out.trim_end().to_string()
}

pub fn definitions(defs: &[Definition]) -> String {
    let mut out = format!(
        "{:<20} {:<18} {:>7} {:>10}  {}\n",
        "NAME", "EXECUTOR", "RETRIES", "TIMEOUT", "DESC"
    );
    for d in defs {
        let _ = writeln!(
            out,
            "{:<20} {:<18} {:>7} {:>9}s  {}",
            d.name,
            d.executor.to_string(),
            d.allowed_retry_count,
            d.in_progress_timeout_ms / 1000,
            d.desc.as_deref().unwrap_or("")
        );
    }
    out.trim_end().to_string()
}

pub fn schedules(rows: &[ScheduleRow]) -> String {
    let mut out = format!(
        "{:<20} {:<14} {:<10} {:<16} {:<26}  {}\n",
        "SCHEDULE", "CRON", "ZONE", "TASK", "NEXT", "STATE"
    );
    for r in rows {
        let s = &r.schedule;
        let _ = writeln!(
            out,
            "{:<20} {:<14} {:<10} {:<16} {:<26}  {}",
            s.name,
            s.cron,
            s.timezone,
            s.task.name,
            r.next_fire_at.map_or("-".into(), |t| t.to_string()),
            if s.paused { "paused" } else { "active" }
        );
    }
    out.trim_end().to_string()
}
