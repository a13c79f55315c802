//! The task detail view (Enter): every field, why it is blocked, attempts, `conf`,
//! `result` and `error` as pretty JSON, children, workspace files and the task's log.
//! The text is built here, once per change, as lines of toned segments; the view only
//! colours them.

use crate::console::format::{clock_ms, duration};
use serde_json::Value;
use taskyard_core::Millis;
use taskyard_core::model::{BlockedBy, LogEntry, LogKind, Outcome, Status, TaskDetail, TaskId};

/// How a segment is shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tone {
    Heading,
    Label,
    Text,
    Dim,
    Status(Status, Option<Outcome>),
    Error,
    Warn,
    Json,
}

pub type Segment = (Tone, String);
pub type DLine = Vec<Segment>;

/// Most log entries the detail view keeps (the newest).
const MAX_LOG: usize = 5_000;

#[derive(Clone, Debug)]
pub struct DetailState {
    pub id: TaskId,
    pub detail: Option<TaskDetail>,
    pub log: Vec<LogEntry>,
    pub error: Option<String>,
    pub scroll: usize,
    pub height: usize,
    /// Fields, attempts, JSON, children, files.
    pub info: Vec<DLine>,
    /// The task's log.
    pub log_lines: Vec<DLine>,
    pub inflight: Option<u64>,
    pub stale: bool,
}

impl DetailState {
    pub fn new(id: TaskId) -> DetailState {
        DetailState {
            id,
            detail: None,
            log: Vec::new(),
            error: None,
            scroll: 0,
            height: 10,
            info: vec![vec![(Tone::Dim, "loading…".into())]],
            log_lines: Vec::new(),
            inflight: None,
            stale: false,
        }
    }

    /// The `after` for the next log page: the newest entry held.
    pub fn log_after(&self) -> u64 {
        self.log.last().map_or(0, |e| e.seq)
    }

    pub fn apply(&mut self, detail: TaskDetail, new_entries: Vec<LogEntry>, offset_s: i32) {
        self.detail = Some(detail);
        self.error = None;
        self.log.extend(new_entries);
        if self.log.len() > MAX_LOG {
            let cut = self.log.len() - MAX_LOG;
            self.log.drain(..cut);
        }
        self.rebuild(offset_s);
    }

    pub fn fail(&mut self, message: String) {
        self.error = Some(message.clone());
        self.info = vec![vec![(Tone::Error, message)]];
        self.log_lines.clear();
    }

    pub fn scroll_by(&mut self, delta: isize, total_lines: usize) {
        let max = total_lines.saturating_sub(self.height);
        self.scroll = (self.scroll as isize + delta).clamp(0, max as isize) as usize;
    }

    pub fn rebuild(&mut self, offset_s: i32) {
        let Some(d) = &self.detail else {
            return;
        };
        self.info = info_lines(d, offset_s);
        self.log_lines = self.log.iter().map(|e| log_line(e, offset_s)).collect();
    }
}

fn field(label: &str, value: String) -> DLine {
    vec![(Tone::Label, format!("{label:<18}")), (Tone::Text, value)]
}

fn time(at: Option<Millis>, offset_s: i32) -> String {
    at.map_or_else(
        || "—".into(),
        |t| format!("{}  ({})", clock_ms(t, offset_s), t),
    )
}

fn blocked_text(b: BlockedBy, thread: Option<&str>) -> String {
    let th = thread.unwrap_or("?");
    match b {
        BlockedBy::ThreadLocked => format!(
            "thread `{th}` is locked by a failed task: P resumes it and retries that task, p resumes it and moves on"
        ),
        BlockedBy::ThreadPaused => format!("thread `{th}` is paused: p resumes it"),
        BlockedBy::ThreadBusy => {
            format!("thread `{th}` is running another task; this one is next in line")
        }
        BlockedBy::Concluding => "a delayed conclusion is pending".into(),
        BlockedBy::ConcurrencyLimit => "its definition's concurrency limit is reached".into(),
        BlockedBy::NoExecutor => {
            "no worker has polled for its definition in the last 60 s: start `taskyard worker`"
                .into()
        }
    }
}

fn json_lines(out: &mut Vec<DLine>, title: &str, value: &Value) {
    out.push(vec![(Tone::Heading, title.to_string())]);
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    for l in text.lines() {
        out.push(vec![(Tone::Json, format!("  {l}"))]);
    }
}

fn info_lines(d: &TaskDetail, offset_s: i32) -> Vec<DLine> {
    let t = &d.task;
    let mut out: Vec<DLine> = Vec::new();
    let state = match t.outcome {
        Some(o) => format!("{} / {}", t.status, o),
        None => t.status.to_string(),
    };
    out.push(vec![
        (Tone::Heading, format!("Task #{}  ", t.id)),
        (Tone::Text, format!("{}  ", t.name)),
        (Tone::Status(t.status, t.outcome), state),
    ]);
    if let Some(b) = t.blocked_by {
        out.push(vec![
            (Tone::Warn, "blocked: ".into()),
            (
                Tone::Text,
                format!("{} — {}", b.as_str(), blocked_text(b, t.thread.as_deref())),
            ),
        ]);
    }
    if let Some(r) = &t.outcome_reason {
        let tone = match t.outcome {
            Some(Outcome::Failed) => Tone::Error,
            Some(Outcome::Canceled) => Tone::Warn,
            _ => Tone::Text,
        };
        let mut text = format!("{}: {}", r.kind.as_str(), r.message);
        if !r.data.is_null() {
            text.push_str(&format!("  {}", r.data));
        }
        out.push(vec![
            (Tone::Label, format!("{:<18}", "reason")),
            (tone, text),
        ]);
    }
    if t.awaiting_conclude {
        out.push(vec![(
            Tone::Warn,
            "awaiting conclude: the executor succeeded; the task stays open until a conclude action".into(),
        )]);
    }
    out.push(Vec::new());
    let opt = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    out.push(field(
        "thread",
        opt(t.thread.as_deref().map(str::to_string)),
    ));
    out.push(field("priority", t.priority.to_string()));
    out.push(field(
        "attempt",
        format!("{} (retries {})", t.attempt, t.retry_count),
    ));
    if let Some(p) = t.progress {
        out.push(field("progress", format!("{:.0}%", p * 100.0)));
    }
    out.push(field("requester", t.requester.to_string()));
    out.push(field("desc", opt(t.desc.as_deref().map(str::to_string))));
    out.push(field("key", opt(t.key.as_deref().map(str::to_string))));
    out.push(field("ref_id", opt(t.ref_id.map(|r| r.to_string()))));
    out.push(field("parent", opt(t.parent.map(|p| format!("#{p}")))));
    out.push(field("rerun_of", opt(t.rerun_of.map(|p| format!("#{p}")))));
    let flags: Vec<&str> = [
        (t.auto, "auto"),
        (t.archive, "archive"),
        (t.open, "open"),
        (t.hold, "hold"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    out.push(field(
        "flags",
        if flags.is_empty() {
            "—".into()
        } else {
            flags.join(" ")
        },
    ));
    out.push(field("timeout", opt(t.timeout.map(duration))));
    out.push(field(
        "executor",
        opt(t.executor.as_deref().map(str::to_string)),
    ));
    out.push(field("exec_id", opt(t.exec_id.map(|u| u.to_string()))));
    out.push(field("created_at", time(Some(t.created_at), offset_s)));
    out.push(field("updated_at", time(Some(t.updated_at), offset_s)));
    out.push(field("execute_at", time(t.execute_at, offset_s)));
    out.push(field("started_at", time(t.started_at, offset_s)));
    out.push(field("concluded_at", time(t.concluded_at, offset_s)));
    if t.conclude_at.is_some() {
        out.push(field("conclude_at", time(t.conclude_at, offset_s)));
    }
    out.push(Vec::new());
    out.push(vec![(
        Tone::Heading,
        format!("Attempts ({})", d.attempts.len()),
    )]);
    if d.attempts.is_empty() {
        out.push(vec![(Tone::Dim, "  none started yet".into())]);
    }
    for a in &d.attempts {
        let took = a
            .ended_at
            .map(|e| duration(e.since(a.started_at)))
            .unwrap_or_else(|| "running".into());
        let (tone, reason) = match &a.reason {
            None => (
                Tone::Status(Status::InProgress, None),
                "running".to_string(),
            ),
            Some(r) if r.kind.as_str() == "succeeded" => (
                Tone::Status(Status::Done, Some(Outcome::Succeeded)),
                "succeeded".into(),
            ),
            Some(r) if r.message.is_empty() => (Tone::Error, r.kind.as_str().to_string()),
            Some(r) => (Tone::Error, format!("{}: {}", r.kind.as_str(), r.message)),
        };
        out.push(vec![
            (
                Tone::Text,
                format!(
                    "  #{:<3} {:<10} started {}  {:>8}  ",
                    a.attempt,
                    a.executor,
                    clock_ms(a.started_at, offset_s),
                    took
                ),
            ),
            (tone, reason),
        ]);
    }
    out.push(Vec::new());
    json_lines(&mut out, "conf", &t.conf.value());
    if let Some(r) = &t.result {
        json_lines(&mut out, "result", &r.value());
    }
    if let Some(e) = &t.error {
        json_lines(&mut out, "error", &e.value());
    }
    out.push(Vec::new());
    let children = if d.children.is_empty() {
        "none".to_string()
    } else {
        d.children
            .iter()
            .map(|c| format!("#{c}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    out.push(vec![
        (Tone::Heading, format!("Children ({})  ", d.children.len())),
        (Tone::Text, children),
    ]);
    out.push(vec![(
        Tone::Heading,
        format!("Workspace files ({})", d.workspace_files.len()),
    )]);
    for f in &d.workspace_files {
        out.push(vec![(Tone::Text, format!("  {f}"))]);
    }
    out
}

fn log_line(e: &LogEntry, offset_s: i32) -> DLine {
    let mut line = vec![(Tone::Dim, format!("{} ", clock_ms(e.at, offset_s)))];
    match e.kind {
        LogKind::Transition => {
            let to = e.to.unwrap_or(Status::Created);
            let from = e.from.map(|f| format!("{f} → ")).unwrap_or_default();
            line.push((Tone::Status(to, None), format!("{from}{to}  ")));
            line.push((Tone::Text, e.message.clone()));
        }
        LogKind::Log => line.push((Tone::Text, e.message.clone())),
    }
    line
}
