//! The console's state and how it changes. Everything here is pure: a message goes in
//! (a key, a reply, events, a tick), the state changes, and the effects to perform come
//! out (queries, actions). The runner performs them off the input path; tests perform
//! them inline. Rendering reads this state and nothing else.

pub mod cmdline;
pub mod detail;
pub mod dialog;
pub mod form;
mod input;
pub mod log;
pub mod tasks;
pub mod threads;
pub mod timeline;

use crate::console::inbox::{Intake, LogLine};
use crate::console::keymap::{Context, Keymap};
use crate::console::layout::{self, Regions, Screen};
use crate::console::theme::Theme;
use crate::source::{Connection, Mode};
use cmdline::CommandLine;
use detail::DetailState;
use dialog::Confirm;
use form::AddForm;
use log::LogState;
use std::collections::VecDeque;
use tasks::TasksState;
use taskyard_core::Millis;
use taskyard_core::api::{Action, ActionReply, Counts, TaskPage, TaskQuery};
use taskyard_core::error::Error;
use taskyard_core::model::{Definition, LogEntry, ScheduleRow, TaskDetail, TaskId, ThreadRow};
use threads::ThreadsState;
use timeline::TimelineState;
use tui_input::Input;

/// The focusable panes of the main screen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pane {
    Tasks,
    Threads,
    Log,
}

/// What sits over the screen and takes the keys first.
#[derive(Clone, Debug)]
pub enum Modal {
    Help {
        context: Context,
        scroll: usize,
    },
    Confirm(Confirm),
    Form(Box<AddForm>),
    Command(CommandLine),
    /// Editing the tasks filter; `before` is restored by Esc.
    Filter {
        input: Input,
        before: String,
    },
    /// Typing a log search.
    Search {
        input: Input,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tone {
    Info,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusLine {
    pub text: String,
    pub tone: Tone,
    pub at: Millis,
}

/// Where an action came from, so its reply goes back there.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    Key,
    Dialog,
    Form,
    Command,
}

/// Work for the runner: everything that needs the source.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Query {
        token: u64,
        query: TaskQuery,
    },
    /// Counts and threads.
    Summary {
        token: u64,
    },
    Definitions,
    /// One task, and its log after `after`.
    Detail {
        token: u64,
        id: TaskId,
        after: u64,
    },
    /// The stored log of a task the log pane narrows to.
    TaskLog {
        id: TaskId,
    },
    Act {
        action: Action,
        origin: Origin,
    },
    Workload {
        on: bool,
    },
}

/// What comes back, and everything else that changes the state.
#[derive(Debug)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Mouse(crossterm::event::MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// Time passed; `now` is the source's clock.
    Tick {
        now: Millis,
    },
    Page {
        token: u64,
        query: TaskQuery,
        result: Result<TaskPage, Error>,
    },
    Summary {
        token: u64,
        result: Result<Summary, Error>,
    },
    Definitions(Result<Vec<Definition>, Error>),
    Detail {
        token: u64,
        id: TaskId,
        result: Result<Box<(TaskDetail, Vec<LogEntry>)>, Error>,
    },
    TaskLog {
        id: TaskId,
        result: Result<Vec<LogEntry>, Error>,
    },
    Acted {
        action: Action,
        origin: Origin,
        result: Result<ActionReply, Error>,
    },
    Workload(Result<bool, Error>),
    Events(Box<Intake>),
}

/// Counts, threads and schedules: what the header, the threads pane and the schedules
/// view show, read together.
#[derive(Debug)]
pub struct Summary {
    pub counts: Counts,
    pub threads: Vec<ThreadRow>,
    pub schedules: Vec<ScheduleRow>,
}

/// The schedules view: every schedule with its next firing.
#[derive(Clone, Debug, Default)]
pub struct SchedulesState {
    pub rows: Vec<ScheduleRow>,
    pub top: usize,
    pub height: usize,
}

impl SchedulesState {
    pub fn scroll(&mut self, delta: isize) {
        let max = self.rows.len().saturating_sub(self.height);
        self.top = (self.top as isize + delta).clamp(0, max as isize) as usize;
    }
}

/// How the console was started.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    pub read_only: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Seconds east of UTC for the clock and log times.
    pub utc_offset_s: i32,
    pub workload: Option<bool>,
}

/// Completions per second, for the header's sparkline.
const SPARK_SECONDS: usize = 240;
/// How long an info message stays in the status line, in ms.
const INFO_MS: u64 = 6_000;
const ERROR_MS: u64 = 20_000;
/// Events mark data stale; it is re-read at most this often (ms of the source's clock
/// are not used: ticks pace it).
pub const HISTORY_MAX: usize = 200;

pub struct App {
    pub mode: Mode,
    pub read_only: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    pub utc_offset_s: i32,
    pub now: Millis,
    pub width: u16,
    pub height: u16,
    pub screen: Screen,
    /// The screen to go back to from the detail view.
    pub back_to: Screen,
    pub focus: Pane,
    pub modal: Option<Modal>,
    pub tasks: TasksState,
    pub threads: ThreadsState,
    pub log: LogState,
    pub detail: Option<DetailState>,
    pub timeline: TimelineState,
    pub schedules: SchedulesState,
    pub counts: Counts,
    /// (second, tasks concluded in it), oldest first.
    pub completions: VecDeque<(i64, u64)>,
    pub connection: Connection,
    pub workload: Option<bool>,
    pub definitions: Vec<Definition>,
    pub status: Option<StatusLine>,
    pub history: Vec<String>,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// Ctrl-L: clear the terminal before the next frame.
    pub clear: bool,
    next_token: u64,
    summary_inflight: Option<u64>,
    summary_stale: bool,
    definitions_stale: bool,
}

impl App {
    pub fn new(o: Options) -> App {
        App {
            mode: o.mode,
            read_only: o.read_only,
            keymap: o.keymap,
            theme: o.theme,
            utc_offset_s: o.utc_offset_s,
            now: Millis::ZERO,
            width: layout::MIN_WIDTH,
            height: layout::MIN_HEIGHT,
            screen: Screen::Main,
            back_to: Screen::Main,
            focus: Pane::Tasks,
            modal: None,
            tasks: TasksState::default(),
            threads: ThreadsState::default(),
            log: LogState::default(),
            detail: None,
            timeline: TimelineState::default(),
            schedules: SchedulesState::default(),
            counts: Counts::default(),
            completions: VecDeque::new(),
            connection: Connection::Connected,
            workload: o.workload,
            definitions: Vec::new(),
            status: None,
            history: Vec::new(),
            quit: false,
            dirty: true,
            clear: false,
            next_token: 1,
            summary_inflight: None,
            summary_stale: false,
            definitions_stale: false,
        }
    }

    /// The first effects: read everything.
    pub fn start(&mut self, width: u16, height: u16, now: Millis) -> Vec<Effect> {
        self.now = now;
        let mut fx = self.resize(width, height);
        fx.push(Effect::Definitions);
        fx.extend(self.refresh_all());
        fx
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    pub fn regions(&self) -> Regions {
        layout::compute(self.width, self.height, self.screen)
    }

    /// The context keys are looked up in.
    pub fn context(&self) -> Context {
        match self.screen {
            Screen::Detail => Context::Detail,
            Screen::Timeline => Context::Timeline,
            Screen::Schedules => Context::Schedules,
            Screen::Main => match self.focus {
                Pane::Tasks => Context::Tasks,
                Pane::Threads => Context::Threads,
                Pane::Log => Context::Log,
            },
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.status = Some(StatusLine {
            text: text.into(),
            tone: Tone::Info,
            at: self.now,
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.status = Some(StatusLine {
            text: text.into(),
            tone: Tone::Error,
            at: self.now,
        });
    }

    /// The engine's error, verbatim.
    fn engine_error(&mut self, e: &Error) {
        self.error(format!("{}: {}", e.code, e.message));
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let is_tick = matches!(msg, Msg::Tick { .. });
        let fx = match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Paste(text) => self.on_paste(&text),
            Msg::Resize(w, h) => self.resize(w, h),
            Msg::Tick { now } => return self.tick(now),
            Msg::Page {
                token,
                query,
                result,
            } => {
                let again = self.tasks.apply(
                    token,
                    &query,
                    result.map_err(|e| format!("{}: {}", e.code, e.message)),
                );
                if again {
                    self.query_tasks()
                } else {
                    Vec::new()
                }
            }
            Msg::Summary { token, result } => self.on_summary(token, result),
            Msg::Definitions(result) => {
                match result {
                    Ok(defs) => self.definitions = defs,
                    Err(e) => self.engine_error(&e),
                }
                Vec::new()
            }
            Msg::Detail { token, id, result } => self.on_detail(token, id, result),
            Msg::TaskLog { id, result } => {
                match result {
                    Ok(entries) if self.log.narrow == Some(id) => {
                        let task = self.tasks.rows.iter().find(|t| t.id == id);
                        let name = task.map_or_else(|| "?".into(), |t| t.name.clone());
                        let thread = task.and_then(|t| t.thread.clone());
                        let outcome = task.and_then(|t| t.outcome);
                        let lines = entries
                            .into_iter()
                            .map(|e| LogLine::stored(id, &name, &thread, outcome, e))
                            .collect();
                        self.log.narrow_to(id, lines);
                    }
                    Ok(_) => {}
                    Err(e) => self.engine_error(&e),
                }
                Vec::new()
            }
            Msg::Acted {
                action,
                origin,
                result,
            } => self.on_acted(action, origin, result),
            Msg::Workload(result) => {
                match result {
                    Ok(on) => {
                        self.workload = Some(on);
                        self.info(if on {
                            "sandbox workload started (W stops it)"
                        } else {
                            "sandbox workload stopped (W starts it)"
                        });
                    }
                    Err(e) => self.engine_error(&e),
                }
                Vec::new()
            }
            Msg::Events(intake) => self.on_events(*intake),
        };
        if !is_tick {
            self.dirty = true;
        }
        fx
    }

    fn resize(&mut self, width: u16, height: u16) -> Vec<Effect> {
        self.width = width;
        self.height = height;
        self.relayout()
    }

    /// Page sizes follow the screen; a bigger table needs more rows at once.
    pub(crate) fn relayout(&mut self) -> Vec<Effect> {
        let main = layout::compute(self.width, self.height, Screen::Main);
        let here = self.regions();
        let before = self.tasks.height;
        self.tasks.height = Regions::table_rows(main.tasks).max(1);
        self.threads.height = Regions::table_rows(main.threads).max(1);
        self.log.height = Regions::inner_rows(main.log).max(1);
        self.timeline.height = Regions::inner_rows(here.timeline).saturating_sub(1).max(1);
        self.schedules.height = Regions::table_rows(here.schedules).max(1);
        if let Some(d) = &mut self.detail {
            d.height = Regions::inner_rows(here.detail).max(1);
        }
        self.tasks.clamp();
        self.threads.clamp();
        if before != self.tasks.height && !self.tasks.covers() {
            self.query_tasks()
        } else {
            Vec::new()
        }
    }

    pub(crate) fn query_tasks(&mut self) -> Vec<Effect> {
        let token = self.token();
        match self.tasks.request(token) {
            Some(query) => vec![Effect::Query { token, query }],
            None => Vec::new(),
        }
    }

    fn query_summary(&mut self) -> Vec<Effect> {
        if self.summary_inflight.is_some() {
            self.summary_stale = true;
            return Vec::new();
        }
        let token = self.token();
        self.summary_inflight = Some(token);
        self.summary_stale = false;
        vec![Effect::Summary { token }]
    }

    fn query_detail(&mut self) -> Vec<Effect> {
        let token = self.token();
        let Some(d) = &mut self.detail else {
            return Vec::new();
        };
        if d.inflight.is_some() {
            d.stale = true;
            return Vec::new();
        }
        d.inflight = Some(token);
        d.stale = false;
        vec![Effect::Detail {
            token,
            id: d.id,
            after: d.log_after(),
        }]
    }

    /// Re-reads everything shown (Ctrl-R, a reset, the start).
    pub(crate) fn refresh_all(&mut self) -> Vec<Effect> {
        let mut fx = self.query_tasks();
        fx.extend(self.query_summary());
        fx.extend(self.query_detail());
        fx
    }

    fn on_summary(&mut self, token: u64, result: Result<Summary, Error>) -> Vec<Effect> {
        if self.summary_inflight != Some(token) {
            return Vec::new();
        }
        self.summary_inflight = None;
        match result {
            Ok(s) => {
                self.counts = s.counts;
                self.threads.set_rows(s.threads);
                self.schedules.rows = s.schedules;
                self.schedules.scroll(0);
            }
            Err(e) => self.engine_error(&e),
        }
        if self.summary_stale {
            self.query_summary()
        } else {
            Vec::new()
        }
    }

    fn on_detail(
        &mut self,
        token: u64,
        id: TaskId,
        result: Result<Box<(TaskDetail, Vec<LogEntry>)>, Error>,
    ) -> Vec<Effect> {
        let offset = self.utc_offset_s;
        let Some(d) = &mut self.detail else {
            return Vec::new();
        };
        if d.inflight != Some(token) || d.id != id {
            return Vec::new();
        }
        d.inflight = None;
        match result {
            Ok(b) => {
                let (detail, entries) = *b;
                d.apply(detail, entries, offset)
            }
            Err(e) => d.fail(format!("{}: {}", e.code, e.message)),
        }
        if d.stale {
            self.query_detail()
        } else {
            Vec::new()
        }
    }

    fn on_acted(
        &mut self,
        action: Action,
        origin: Origin,
        result: Result<ActionReply, Error>,
    ) -> Vec<Effect> {
        match result {
            Ok(reply) => {
                if origin == Origin::Form {
                    self.modal = None;
                }
                if matches!(
                    action,
                    Action::Cancel { .. } | Action::Clean { .. } | Action::Destroy { .. }
                ) {
                    self.tasks.marks.clear();
                }
                let text = describe_reply(&action, &reply);
                self.info(text);
            }
            Err(e) => {
                if origin == Origin::Form
                    && let Some(Modal::Form(f)) = &mut self.modal
                {
                    f.pending = false;
                    f.error = Some(format!("{}: {}", e.code, e.message));
                }
                self.engine_error(&e);
            }
        }
        // Whatever happened, show the engine's state now rather than at the next tick.
        self.refresh_all()
    }

    fn on_events(&mut self, intake: Intake) -> Vec<Effect> {
        if let Some(c) = intake.connection {
            self.connection = c;
        }
        self.log.dropped += intake.dropped;
        self.log.append(intake.lines);
        self.timeline.apply(intake.edges);
        for (second, n) in intake.completions {
            match self.completions.iter_mut().find(|(s, _)| *s == second) {
                Some((_, c)) => *c += n,
                None => {
                    let at = self.completions.partition_point(|(s, _)| *s < second);
                    self.completions.insert(at, (second, n));
                }
            }
        }
        while self.completions.len() > SPARK_SECONDS {
            self.completions.pop_front();
        }
        if intake.reset {
            // Events were missed (the stream outran us, or a reconnect): re-read.
            self.log.resyncs += 1;
            return self.refresh_all();
        }
        if intake.tasks_changed {
            self.tasks.stale = true;
            self.summary_stale = true;
            if let Some(d) = &mut self.detail
                && (intake.touched_many || intake.touched.contains(&d.id))
            {
                d.stale = true;
            }
        }
        if intake.threads_changed {
            self.summary_stale = true;
        }
        if intake.definitions_changed {
            self.definitions_stale = true;
        }
        Vec::new()
    }

    /// Time passed: refresh what events made stale (coalesced: at most once per tick),
    /// expire old status messages.
    fn tick(&mut self, now: Millis) -> Vec<Effect> {
        let second_changed = now.0.div_euclid(1000) != self.now.0.div_euclid(1000);
        self.now = now;
        if second_changed {
            self.dirty = true;
            if let Some(d) = &mut self.detail {
                d.rebuild(self.utc_offset_s);
            }
        }
        if let Some(s) = &self.status {
            let keep = if s.tone == Tone::Error {
                ERROR_MS
            } else {
                INFO_MS
            };
            if now.since(s.at) > keep {
                self.status = None;
                self.dirty = true;
            }
        }
        let mut fx = Vec::new();
        if self.tasks.stale && !self.tasks.inflight() {
            fx.extend(self.query_tasks());
        }
        if self.summary_stale && self.summary_inflight.is_none() {
            fx.extend(self.query_summary());
        }
        if self
            .detail
            .as_ref()
            .is_some_and(|d| d.stale && d.inflight.is_none())
        {
            fx.extend(self.query_detail());
        }
        if self.definitions_stale {
            self.definitions_stale = false;
            fx.push(Effect::Definitions);
        }
        fx
    }

    /// Opens the detail view of a task.
    pub(crate) fn open_detail(&mut self, id: TaskId) -> Vec<Effect> {
        if self.screen != Screen::Detail {
            self.back_to = self.screen;
        }
        self.screen = Screen::Detail;
        let mut d = DetailState::new(id);
        d.height =
            Regions::inner_rows(layout::compute(self.width, self.height, Screen::Detail).detail);
        self.detail = Some(d);
        self.query_detail()
    }

    pub(crate) fn close_detail(&mut self) {
        self.detail = None;
        self.screen = self.back_to;
        self.back_to = Screen::Main;
    }

    /// The sparkline's values: completions in each of the last `n` seconds, oldest first.
    pub fn sparkline(&self, n: usize) -> Vec<u64> {
        let now_s = self.now.0.div_euclid(1000);
        let mut out = vec![0; n];
        for (s, c) in &self.completions {
            let back = now_s - s;
            // The current second is still filling up: start from the one before.
            if (1..=n as i64).contains(&back) {
                out[n - back as usize] = *c;
            }
        }
        out
    }

    /// Completions in the last full second.
    pub fn rate(&self) -> u64 {
        self.sparkline(1)[0]
    }
}

/// The status line's words for an action that succeeded.
fn describe_reply(action: &Action, reply: &ActionReply) -> String {
    let ids = |v: &[TaskId]| -> String {
        let shown: Vec<String> = v.iter().take(8).map(|i| format!("#{i}")).collect();
        let more = if v.len() > 8 {
            format!(" and {} more", v.len() - 8)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(" "))
    };
    match reply {
        ActionReply::Run { tasks } if tasks.is_empty() => "run: nothing to do".into(),
        ActionReply::Run { tasks } => match action {
            Action::Run { tasks: items, .. }
                if items
                    .iter()
                    .all(|i| matches!(i, taskyard_core::model::RunItem::New(_))) =>
            {
                format!("created {}", ids(tasks))
            }
            _ => format!("run: {}", ids(tasks)),
        },
        ActionReply::Conclude { task, .. } => format!("concluding #{task}"),
        ActionReply::Cancel {
            canceled,
            cascaded,
            ignored,
        } => {
            let mut s = format!(
                "canceled {}",
                if canceled.is_empty() {
                    "none".into()
                } else {
                    ids(canceled)
                }
            );
            if !cascaded.is_empty() {
                s.push_str(&format!("; with their children {}", ids(cascaded)));
            }
            if !ignored.is_empty() {
                s.push_str(&format!("; ignored (concluded) {}", ids(ignored)));
            }
            s
        }
        ActionReply::Clean { cleaned, ignored } => {
            let mut s = format!(
                "cleaned {}",
                if cleaned.is_empty() {
                    "none".into()
                } else {
                    ids(cleaned)
                }
            );
            if !ignored.is_empty() {
                s.push_str(&format!("; ignored (not concluded) {}", ids(ignored)));
            }
            s
        }
        ActionReply::Destroy { destroyed } => format!("destroyed {}", ids(destroyed)),
        ActionReply::Pause { threads } => {
            let names: Vec<&str> = threads.iter().map(|t| t.name.as_str()).collect();
            format!("paused {}", names.join(", "))
        }
        ActionReply::Resume { threads, continued } => {
            let names: Vec<&str> = threads.iter().map(|t| t.name.as_str()).collect();
            let mut s = format!("resumed {}", names.join(", "));
            if !continued.is_empty() {
                s.push_str(&format!("; continuing {}", ids(continued)));
            }
            s
        }
    }
}
