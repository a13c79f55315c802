//! Keys and mouse to state changes: a modal takes the keys first; otherwise the keymap
//! turns a key into a [`Command`] in the current context, and the command runs here.

use super::cmdline::{self, Cmd, CommandLine};
use super::dialog::{Confirm, ConfirmKind};
use super::form::{AddForm, Field};
use super::{App, Effect, Modal, Origin, Pane};
use crate::console::keymap::{Command, Key, info_of};
use crate::console::layout::{Regions, Screen};
use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};
use taskyard_core::api::{Action, SortOrder};
use taskyard_core::model::{RunItem, TaskRef};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

fn is(k: &KeyEvent, code: KeyCode) -> bool {
    k.code == code
        && !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

fn ctrl_c(k: &KeyEvent) -> bool {
    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL)
}

/// Edits a text input with a key; true when the text changed.
fn edit(input: &mut Input, k: KeyEvent) -> bool {
    input
        .handle_event(&TermEvent::Key(k))
        .is_some_and(|c| c.value)
}

impl App {
    pub(super) fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if ctrl_c(&k) {
            self.quit = true;
            return Vec::new();
        }
        if self.modal.is_some() {
            return self.modal_key(k);
        }
        let Some(key) = Key::from_event(&k) else {
            return Vec::new();
        };
        match self.keymap.lookup(key, self.context()) {
            Some(cmd) => self.command(cmd),
            None => Vec::new(),
        }
    }

    pub(super) fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        let input = match &mut self.modal {
            Some(Modal::Form(f)) => {
                let field = f.focus;
                f.input_mut(field)
            }
            Some(Modal::Command(c)) => &mut c.input,
            Some(Modal::Filter { input, .. }) | Some(Modal::Search { input }) => input,
            _ => return Vec::new(),
        };
        let value = format!("{}{}", input.value(), text.replace(['\n', '\r'], " "));
        *input = Input::new(value);
        if matches!(self.modal, Some(Modal::Filter { .. })) {
            return self.live_filter();
        }
        Vec::new()
    }

    /// Runs a keymap command.
    pub(super) fn command(&mut self, cmd: Command) -> Vec<Effect> {
        if self.read_only && info_of(cmd).mutates {
            self.error(format!(
                "read-only: {} is off (the console was started with --read-only)",
                info_of(cmd).help
            ));
            return Vec::new();
        }
        let page = |h: usize| h.max(1) as isize;
        match cmd {
            Command::Up => return self.move_by(-1),
            Command::Down => return self.move_by(1),
            Command::PageUp => return self.move_by(-page(self.page_height())),
            Command::PageDown => return self.move_by(page(self.page_height())),
            Command::HalfPageUp => return self.move_by(-page(self.page_height() / 2)),
            Command::HalfPageDown => return self.move_by(page(self.page_height() / 2)),
            Command::Top => return self.move_to(false),
            Command::Bottom => return self.move_to(true),
            Command::NextPane | Command::PrevPane => {
                let order = [Pane::Tasks, Pane::Threads, Pane::Log];
                let i = order.iter().position(|p| *p == self.focus).unwrap_or(0);
                let step = if cmd == Command::NextPane { 1 } else { 2 };
                self.focus = order[(i + step) % 3];
                self.screen = Screen::Main;
            }
            Command::FocusTasks => return self.show_pane(Pane::Tasks),
            Command::FocusThreads => return self.show_pane(Pane::Threads),
            Command::FocusLog => return self.show_pane(Pane::Log),
            Command::FocusTimeline | Command::Timeline => {
                if cmd == Command::Timeline && self.screen == Screen::Timeline {
                    self.screen = Screen::Main;
                } else {
                    self.detail = None;
                    self.screen = Screen::Timeline;
                }
                return self.relayout();
            }
            Command::FocusSchedules => {
                self.detail = None;
                self.screen = Screen::Schedules;
                return self.relayout();
            }
            Command::Open => return self.open(),
            Command::Close => return self.close(),
            Command::Back => match self.screen {
                Screen::Detail => self.close_detail(),
                Screen::Timeline | Screen::Schedules => self.screen = Screen::Main,
                Screen::Main => self.quit = true,
            },
            Command::Quit => self.quit = true,
            Command::Help => {
                self.modal = Some(Modal::Help {
                    context: self.context(),
                    scroll: 0,
                })
            }
            Command::Filter => {
                if self.screen == Screen::Main && self.focus == Pane::Log {
                    self.modal = Some(Modal::Search {
                        input: Input::new(self.log.search.clone()),
                    });
                } else {
                    if self.screen != Screen::Main {
                        self.close_detail();
                        self.screen = Screen::Main;
                    }
                    self.focus = Pane::Tasks;
                    self.modal = Some(Modal::Filter {
                        input: Input::new(self.tasks.filter.clone()),
                        before: self.tasks.filter.clone(),
                    });
                }
            }
            Command::NextMatch | Command::PrevMatch => {
                if self.log.search.is_empty() {
                    self.info("no search: / in the log pane searches");
                } else if !self.log.jump(cmd == Command::PrevMatch) {
                    self.info(format!("no more matches of `{}`", self.log.search));
                }
            }
            Command::CommandLine => self.modal = Some(Modal::Command(CommandLine::default())),
            Command::SortNext => {
                self.tasks.sort_next();
                return self.query_tasks();
            }
            Command::SortReverse => {
                self.tasks.reverse();
                return self.query_tasks();
            }
            Command::Follow => {
                self.log.toggle_follow();
                self.info(if self.log.follow {
                    "log: following"
                } else {
                    "log: not following (f follows again)"
                });
            }
            Command::Wrap => self.log.wrap = !self.log.wrap,
            Command::NarrowLog => return self.narrow_log(),
            Command::ZoomIn => self.timeline.zoom_in(),
            Command::ZoomOut => self.timeline.zoom_out(),
            Command::Refresh => {
                self.info("refreshing");
                let mut fx = self.refresh_all();
                fx.push(Effect::Definitions);
                return fx;
            }
            Command::Redraw => self.clear = true,
            Command::Mark => {
                if self.tasks.marks.all.is_some() {
                    self.info("every task matching the filter is marked; Esc clears the marks");
                } else if let Some(id) = self.tasks.selected_task().map(|t| t.id) {
                    if !self.tasks.marks.ids.remove(&id) {
                        self.tasks.marks.ids.insert(id);
                    }
                    return self.move_by(1);
                }
            }
            Command::MarkAll => {
                let (filter, total) = (self.tasks.filter.clone(), self.tasks.total);
                self.tasks.marks.ids.clear();
                self.tasks.marks.all = Some((filter.clone(), total));
                self.info(if filter.is_empty() {
                    format!("marked all {total} tasks; Esc clears")
                } else {
                    format!("marked all {total} tasks matching `{filter}`; Esc clears")
                });
            }
            Command::Run => return self.run_targets(),
            Command::Add => {
                let thread = match (self.screen, self.focus) {
                    (Screen::Main, Pane::Threads) => {
                        self.threads.selected_row().map(|r| r.name.clone())
                    }
                    _ => None,
                };
                self.modal = Some(Modal::Form(Box::new(AddForm::new(thread.as_deref()))));
            }
            Command::Pause => return self.pause_or_resume(false),
            Command::ResumeContinue => return self.pause_or_resume(true),
            Command::Cancel => return self.confirm(ConfirmKind::Cancel),
            Command::Clean => return self.confirm(ConfirmKind::Clean),
            Command::Destroy => return self.confirm(ConfirmKind::Destroy),
            Command::Workload => match self.workload {
                Some(on) => return vec![Effect::Workload { on: !on }],
                None => self.error(
                    "there is no sandbox workload here: W only works in the sandbox (`taskyard` with no arguments)",
                ),
            },
        }
        Vec::new()
    }

    fn page_height(&self) -> usize {
        match (self.screen, self.focus) {
            (Screen::Detail, _) => self.detail.as_ref().map_or(10, |d| d.height),
            (Screen::Timeline, _) => self.timeline.height,
            (Screen::Schedules, _) => self.schedules.height,
            (Screen::Main, Pane::Tasks) => self.tasks.height,
            (Screen::Main, Pane::Threads) => self.threads.height,
            (Screen::Main, Pane::Log) => self.log.height,
        }
    }

    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        match (self.screen, self.focus) {
            (Screen::Detail, _) => {
                let width = self.width;
                if let Some(d) = &mut self.detail {
                    let lines = detail_lines(d, width);
                    d.scroll_by(delta, lines);
                }
            }
            (Screen::Timeline, _) => {
                let lanes = self.timeline.lanes(self.now).len();
                self.timeline.scroll(delta, lanes);
            }
            (Screen::Schedules, _) => self.schedules.scroll(delta),
            (Screen::Main, Pane::Tasks) => {
                self.tasks.move_by(delta);
                if !self.tasks.covers() {
                    return self.query_tasks();
                }
            }
            (Screen::Main, Pane::Threads) => self.threads.move_by(delta),
            (Screen::Main, Pane::Log) => self.log.scroll(delta),
        }
        Vec::new()
    }

    fn move_to(&mut self, bottom: bool) -> Vec<Effect> {
        match (self.screen, self.focus) {
            (Screen::Main, Pane::Log) => {
                if bottom {
                    self.log.bottom()
                } else {
                    self.log.top()
                }
                Vec::new()
            }
            (Screen::Main, Pane::Tasks) => {
                let to = if bottom {
                    (self.tasks.total as usize).saturating_sub(1)
                } else {
                    0
                };
                self.tasks.select(to);
                if self.tasks.covers() {
                    Vec::new()
                } else {
                    self.query_tasks()
                }
            }
            _ => self.move_by(if bottom {
                isize::MAX / 2
            } else {
                isize::MIN / 2
            }),
        }
    }

    fn show_pane(&mut self, pane: Pane) -> Vec<Effect> {
        if self.screen == Screen::Detail {
            self.detail = None;
        }
        self.screen = Screen::Main;
        self.focus = pane;
        self.relayout()
    }

    fn open(&mut self) -> Vec<Effect> {
        match self.focus {
            Pane::Threads => {
                let Some(name) = self.threads.selected_row().map(|r| r.name.clone()) else {
                    return Vec::new();
                };
                self.focus = Pane::Tasks;
                self.set_filter(format!("thread:{name}"))
            }
            _ => match self.tasks.selected_task().map(|t| t.id) {
                Some(id) => self.open_detail(id),
                None => Vec::new(),
            },
        }
    }

    /// Esc: marks, then the filter, then back (modals close before this is reached).
    fn close(&mut self) -> Vec<Effect> {
        match self.screen {
            Screen::Detail => {
                self.close_detail();
                Vec::new()
            }
            Screen::Timeline | Screen::Schedules => {
                self.screen = Screen::Main;
                Vec::new()
            }
            Screen::Main => {
                if !self.tasks.marks.is_empty() {
                    self.tasks.marks.clear();
                    self.info("marks cleared");
                    Vec::new()
                } else if self.log.narrow.is_some() && self.focus == Pane::Log {
                    self.log.widen();
                    Vec::new()
                } else if !self.tasks.filter.is_empty() {
                    self.info("filter cleared");
                    self.set_filter(String::new())
                } else {
                    Vec::new()
                }
            }
        }
    }

    pub(super) fn set_filter(&mut self, filter: String) -> Vec<Effect> {
        self.tasks.filter = filter;
        self.tasks.reset_view();
        self.query_tasks()
    }

    fn live_filter(&mut self) -> Vec<Effect> {
        let Some(Modal::Filter { input, .. }) = &self.modal else {
            return Vec::new();
        };
        let value = input.value().to_string();
        if value == self.tasks.filter {
            return Vec::new();
        }
        self.set_filter(value)
    }

    fn narrow_log(&mut self) -> Vec<Effect> {
        if self.log.narrow.is_some()
            && (self.focus == Pane::Log
                || self.tasks.selected_task().map(|t| t.id) == self.log.narrow)
        {
            self.log.widen();
            self.info("log: every task");
            return Vec::new();
        }
        match self.tasks.selected_task().map(|t| t.id) {
            Some(id) => {
                self.log.narrow = Some(id);
                self.log.narrow_to(id, Vec::new());
                self.info(format!("log: task #{id} only (L again shows every task)"));
                vec![Effect::TaskLog { id }]
            }
            None => {
                self.info("select a task first");
                Vec::new()
            }
        }
    }

    /// The selected task, in the detail view or the table.
    fn current_task(&self) -> Option<&taskyard_core::model::Task> {
        match (&self.detail, self.screen) {
            (Some(d), Screen::Detail) => d.detail.as_ref().map(|d| &d.task),
            _ => self.tasks.selected_task(),
        }
    }

    fn targets(&self) -> Option<super::tasks::Targets> {
        if self.screen == Screen::Detail {
            return self.current_task().map(|t| super::tasks::Targets {
                refs: vec![TaskRef::Id(t.id)],
                count: 1,
                ids: vec![t.id],
                filter: None,
            });
        }
        self.tasks.targets()
    }

    fn run_targets(&mut self) -> Vec<Effect> {
        let Some(t) = self.targets() else {
            self.info("no task selected: a adds a task");
            return Vec::new();
        };
        let tasks = t.refs.into_iter().map(RunItem::Existing).collect();
        vec![Effect::Act {
            action: Action::Run {
                tasks,
                ignore: false,
            },
            origin: Origin::Key,
        }]
    }

    fn confirm(&mut self, kind: ConfirmKind) -> Vec<Effect> {
        match self.targets() {
            Some(targets) => {
                self.modal = Some(Modal::Confirm(Confirm {
                    kind,
                    targets,
                    ignore: false,
                }))
            }
            None => self.info("no task selected"),
        }
        Vec::new()
    }

    fn pause_or_resume(&mut self, continue_: bool) -> Vec<Effect> {
        let row = if self.screen == Screen::Main && self.focus == Pane::Threads {
            self.threads.selected_row().cloned()
        } else {
            let Some(task) = self.current_task() else {
                self.info("no thread selected");
                return Vec::new();
            };
            let Some(thread) = task.thread.clone() else {
                let id = task.id;
                self.error(format!(
                    "task #{id} has no thread; p pauses and resumes threads (2 shows them)"
                ));
                return Vec::new();
            };
            Some(
                self.threads
                    .rows
                    .iter()
                    .find(|r| *r.name == *thread)
                    .cloned()
                    .unwrap_or_else(|| taskyard_core::model::ThreadRow {
                        name: thread.to_string(),
                        paused: false,
                        paused_at: None,
                        paused_until: None,
                        paused_by: None,
                        locked_by: None,
                        locked_at: None,
                        current: None,
                        counts: Default::default(),
                    }),
            )
        };
        let Some(row) = row else {
            self.info("no thread selected");
            return Vec::new();
        };
        let threads = vec![row.name.clone()];
        let action = if continue_ || row.paused {
            Action::Resume { threads, continue_ }
        } else {
            Action::Pause {
                threads,
                until: None,
            }
        };
        vec![Effect::Act {
            action,
            origin: Origin::Key,
        }]
    }

    // --- modals --------------------------------------------------------------------

    fn modal_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let Some(modal) = self.modal.take() else {
            return Vec::new();
        };
        let (keep, fx) = match modal {
            Modal::Help { context, scroll } => {
                let close = is(&k, KeyCode::Esc)
                    || is(&k, KeyCode::Char('q'))
                    || is(&k, KeyCode::Char('?'))
                    || is(&k, KeyCode::Enter);
                let scroll = match k.code {
                    KeyCode::Down | KeyCode::Char('j') => scroll + 1,
                    KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                    KeyCode::PageDown => scroll + 10,
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => scroll,
                };
                (
                    (!close).then_some(Modal::Help { context, scroll }),
                    Vec::new(),
                )
            }
            Modal::Confirm(mut c) => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    let action = c.action();
                    (
                        None,
                        vec![Effect::Act {
                            action,
                            origin: Origin::Dialog,
                        }],
                    )
                }
                KeyCode::Char('!') => {
                    if c.kind.ignore_help().is_some() {
                        c.ignore = !c.ignore;
                    }
                    (Some(Modal::Confirm(c)), Vec::new())
                }
                KeyCode::Char('n')
                | KeyCode::Char('N')
                | KeyCode::Esc
                | KeyCode::Enter
                | KeyCode::Char('q') => {
                    self.info(format!("{}: not done", c.kind.verb()));
                    (None, Vec::new())
                }
                _ => (Some(Modal::Confirm(c)), Vec::new()),
            },
            Modal::Form(mut f) => {
                let fx = self.form_key(&mut f, k);
                if f.pending || !matches!(k.code, KeyCode::Esc) {
                    (Some(Modal::Form(f)), fx)
                } else {
                    (None, fx)
                }
            }
            Modal::Command(mut c) => {
                let (keep, fx) = self.command_key(&mut c, k);
                (keep.then_some(Modal::Command(c)), fx)
            }
            Modal::Filter { mut input, before } => match k.code {
                KeyCode::Esc => {
                    self.modal = None;
                    return self.set_filter(before);
                }
                KeyCode::Enter => (None, Vec::new()),
                _ => {
                    let changed = edit(&mut input, k);
                    self.modal = Some(Modal::Filter { input, before });
                    return if changed {
                        self.live_filter()
                    } else {
                        Vec::new()
                    };
                }
            },
            Modal::Search { mut input } => match k.code {
                KeyCode::Esc => (None, Vec::new()),
                KeyCode::Enter => {
                    self.log.search = input.value().trim().to_lowercase();
                    if !self.log.search.is_empty() && !self.log.jump(true) {
                        self.info(format!("`{}` not found in the log", self.log.search));
                    }
                    (None, Vec::new())
                }
                _ => {
                    edit(&mut input, k);
                    (Some(Modal::Search { input }), Vec::new())
                }
            },
        };
        // A modal may have opened another (`:help`); keep the newer one.
        if self.modal.is_none() {
            self.modal = keep;
        }
        fx
    }

    fn form_key(&mut self, f: &mut AddForm, k: KeyEvent) -> Vec<Effect> {
        if f.pending {
            return Vec::new();
        }
        match k.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Tab if f.focus == Field::Name && f.complete(&self.definitions) => Vec::new(),
            KeyCode::Tab | KeyCode::Down => {
                f.next(false);
                Vec::new()
            }
            KeyCode::BackTab | KeyCode::Up => {
                f.next(true);
                Vec::new()
            }
            KeyCode::Enter => match f.spec(self.now) {
                Ok(spec) => {
                    f.pending = true;
                    f.error = None;
                    vec![Effect::Act {
                        action: Action::Run {
                            tasks: vec![RunItem::New(Box::new(spec))],
                            ignore: false,
                        },
                        origin: Origin::Form,
                    }]
                }
                Err(e) => {
                    f.error = Some(e);
                    Vec::new()
                }
            },
            _ => {
                let field = f.focus;
                if edit(f.input_mut(field), k) {
                    f.error = None;
                }
                Vec::new()
            }
        }
    }

    /// Returns whether the command line stays open.
    fn command_key(&mut self, c: &mut CommandLine, k: KeyEvent) -> (bool, Vec<Effect>) {
        if k.code != KeyCode::Tab {
            c.end_completion();
        }
        match k.code {
            KeyCode::Esc => (false, Vec::new()),
            KeyCode::Up => {
                c.browse(&self.history, true);
                (true, Vec::new())
            }
            KeyCode::Down => {
                c.browse(&self.history, false);
                (true, Vec::new())
            }
            KeyCode::Tab => {
                let threads: Vec<String> =
                    self.threads.rows.iter().map(|r| r.name.clone()).collect();
                let defs: Vec<String> = self.definitions.iter().map(|d| d.name.clone()).collect();
                c.complete(&threads, &defs);
                (true, Vec::new())
            }
            KeyCode::Enter => {
                let line = c.input.value().trim().to_string();
                if line.is_empty() {
                    return (false, Vec::new());
                }
                if self.history.last() != Some(&line) {
                    self.history.push(line.clone());
                    if self.history.len() > super::HISTORY_MAX {
                        self.history.remove(0);
                    }
                }
                (false, self.execute(&line))
            }
            KeyCode::Backspace if c.input.value().is_empty() => (false, Vec::new()),
            _ => {
                edit(&mut c.input, k);
                (true, Vec::new())
            }
        }
    }

    /// Runs a `:` command line.
    pub(crate) fn execute(&mut self, line: &str) -> Vec<Effect> {
        let cmd = match cmdline::parse(line, self.now) {
            Ok(cmd) => cmd,
            Err(e) => {
                self.error(format!(":{line}: {e}"));
                return Vec::new();
            }
        };
        match cmd {
            Cmd::Act(action) => {
                if self.read_only {
                    self.error(format!(
                        "read-only: :{} is off (the console was started with --read-only)",
                        action.name()
                    ));
                    return Vec::new();
                }
                vec![Effect::Act {
                    action,
                    origin: Origin::Command,
                }]
            }
            Cmd::Filter(f) => {
                self.screen = Screen::Main;
                self.focus = Pane::Tasks;
                self.set_filter(f)
            }
            Cmd::Sort(key, order) => {
                self.tasks.sort = key;
                if let Some(o) = order {
                    self.tasks.order = o;
                } else if key == taskyard_core::api::SortKey::Id {
                    self.tasks.order = SortOrder::Desc;
                }
                self.tasks.reset_view();
                self.query_tasks()
            }
            Cmd::Workload(on) => match (self.workload, on) {
                (None, _) => self.command(Command::Workload),
                (Some(cur), None) => vec![Effect::Workload { on: !cur }],
                (Some(_), Some(on)) => {
                    if self.read_only {
                        self.command(Command::Workload)
                    } else {
                        vec![Effect::Workload { on }]
                    }
                }
            },
            Cmd::Tasks => self.show_pane(Pane::Tasks),
            Cmd::Threads => self.show_pane(Pane::Threads),
            Cmd::Log => self.show_pane(Pane::Log),
            Cmd::Timeline => self.command(Command::FocusTimeline),
            Cmd::Schedules => self.command(Command::FocusSchedules),
            Cmd::Refresh => self.command(Command::Refresh),
            Cmd::Help => {
                self.modal = Some(Modal::Help {
                    context: self.context(),
                    scroll: 0,
                });
                Vec::new()
            }
            Cmd::Quit => {
                self.quit = true;
                Vec::new()
            }
        }
    }

    // --- mouse ---------------------------------------------------------------------

    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if self.modal.is_some() {
            return Vec::new();
        }
        let r = self.regions();
        let (x, y) = (m.column, m.row);
        let pane = if Regions::hit(r.tasks, x, y) {
            Some(Pane::Tasks)
        } else if Regions::hit(r.threads, x, y) {
            Some(Pane::Threads)
        } else if Regions::hit(r.log, x, y) {
            Some(Pane::Log)
        } else {
            None
        };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let delta = if m.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                if self.screen == Screen::Main
                    && let Some(p) = pane
                {
                    self.focus = p;
                }
                self.move_by(delta)
            }
            MouseEventKind::Down(MouseButton::Left) if self.screen == Screen::Main => {
                let Some(p) = pane else {
                    return Vec::new();
                };
                self.focus = p;
                match p {
                    Pane::Tasks => {
                        // Border, then the header row.
                        let row = y.saturating_sub(r.tasks.y + 2) as usize;
                        if y >= r.tasks.y + 2 && row < self.tasks.height {
                            let index = self.tasks.top + row;
                            if index < self.tasks.total as usize {
                                self.tasks.select(index);
                            }
                        }
                    }
                    Pane::Threads => {
                        let row = y.saturating_sub(r.threads.y + 2) as usize;
                        if y >= r.threads.y + 2 {
                            let index = self.threads.top + row;
                            if index < self.threads.rows.len() {
                                self.threads.select(index);
                            }
                        }
                    }
                    Pane::Log => {}
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// How many lines the detail view has at this width (its log joins the info below it
/// on narrow screens).
pub fn detail_lines(d: &super::detail::DetailState, width: u16) -> usize {
    if crate::console::view::detail::side_by_side(width) {
        d.info.len()
    } else {
        d.info.len() + 2 + d.log_lines.len()
    }
}
