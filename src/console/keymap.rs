//! The one keymap (SPEC §9): every command the keyboard can give, where it applies, its
//! default keys, and the user's overrides from the config file. The input handler and
//! the help overlay both read it, so help can never disagree with what keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

/// Where a command applies: the focused pane of the main screen, or a full view.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Context {
    Tasks,
    Threads,
    Log,
    Detail,
    Timeline,
    Schedules,
}

impl Context {
    const fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn label(self) -> &'static str {
        match self {
            Context::Tasks => "tasks",
            Context::Threads => "threads",
            Context::Log => "log",
            Context::Detail => "detail",
            Context::Timeline => "timeline",
            Context::Schedules => "schedules",
        }
    }
}

/// A set of contexts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Scope(u8);

impl Scope {
    const fn of(contexts: &[Context]) -> Scope {
        let mut bits = 0;
        let mut i = 0;
        while i < contexts.len() {
            bits |= contexts[i].bit();
            i += 1;
        }
        Scope(bits)
    }

    pub fn contains(self, c: Context) -> bool {
        self.0 & c.bit() != 0
    }

    fn overlaps(self, other: Scope) -> bool {
        self.0 & other.0 != 0
    }
}

use Context::{Detail as D, Log as L, Schedules as C_, Tasks as T, Threads as H, Timeline as M};
const ALL: Scope = Scope::of(&[T, H, L, D, M, C_]);
const MAIN: Scope = Scope::of(&[T, H, L]);

/// What a key asks for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Command {
    Up,
    Down,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    FocusTasks,
    FocusThreads,
    FocusLog,
    FocusTimeline,
    FocusSchedules,
    Open,
    Close,
    Back,
    Quit,
    Help,
    Filter,
    NextMatch,
    PrevMatch,
    CommandLine,
    SortNext,
    SortReverse,
    Follow,
    Wrap,
    NarrowLog,
    Timeline,
    ZoomIn,
    ZoomOut,
    Refresh,
    Redraw,
    Mark,
    MarkAll,
    Run,
    Add,
    Pause,
    ResumeContinue,
    Cancel,
    Clean,
    Destroy,
    Workload,
}

/// A command's name (as the config file spells it), help text, scope and defaults.
pub struct CommandInfo {
    pub command: Command,
    pub name: &'static str,
    pub help: &'static str,
    pub scope: Scope,
    /// Whether it changes the engine (hidden and refused with `--read-only`).
    pub mutates: bool,
    pub keys: &'static [&'static str],
}

const fn info(
    command: Command,
    name: &'static str,
    help: &'static str,
    scope: Scope,
    mutates: bool,
    keys: &'static [&'static str],
) -> CommandInfo {
    CommandInfo {
        command,
        name,
        help,
        scope,
        mutates,
        keys,
    }
}

use Command as C;

/// Every command, in the order help lists them.
pub const COMMANDS: &[CommandInfo] = &[
    info(C::Up, "up", "move up", ALL, false, &["up", "k"]),
    info(C::Down, "down", "move down", ALL, false, &["down", "j"]),
    info(C::PageUp, "page-up", "page up", ALL, false, &["pgup"]),
    info(C::PageDown, "page-down", "page down", ALL, false, &["pgdn"]),
    info(
        C::HalfPageUp,
        "half-page-up",
        "half a page up",
        ALL,
        false,
        &["ctrl-u"],
    ),
    info(
        C::HalfPageDown,
        "half-page-down",
        "half a page down",
        ALL,
        false,
        &["ctrl-d"],
    ),
    info(C::Top, "top", "go to the top", ALL, false, &["g", "home"]),
    info(
        C::Bottom,
        "bottom",
        "go to the bottom",
        ALL,
        false,
        &["G", "end"],
    ),
    info(C::NextPane, "next-pane", "next pane", MAIN, false, &["tab"]),
    info(
        C::PrevPane,
        "prev-pane",
        "previous pane",
        MAIN,
        false,
        &["shift-tab"],
    ),
    info(C::FocusTasks, "focus-tasks", "tasks", ALL, false, &["1"]),
    info(
        C::FocusThreads,
        "focus-threads",
        "threads",
        ALL,
        false,
        &["2"],
    ),
    info(C::FocusLog, "focus-log", "log", ALL, false, &["3"]),
    info(
        C::FocusTimeline,
        "focus-timeline",
        "timeline",
        ALL,
        false,
        &["4"],
    ),
    info(
        C::FocusSchedules,
        "focus-schedules",
        "schedules",
        ALL,
        false,
        &["5"],
    ),
    info(
        C::Open,
        "open",
        "task detail (threads: show the thread's tasks)",
        Scope::of(&[T, H]),
        false,
        &["enter"],
    ),
    info(
        C::Close,
        "close",
        "close the dialog or filter, clear marks, then back",
        ALL,
        false,
        &["esc"],
    ),
    info(
        C::Back,
        "back",
        "back; quit on the main screen",
        ALL,
        false,
        &["q"],
    ),
    info(C::Quit, "quit", "quit", ALL, false, &["ctrl-c"]),
    info(C::Help, "help", "this help", ALL, false, &["?"]),
    info(
        C::Filter,
        "filter",
        "filter tasks (log: search)",
        Scope::of(&[T, H, L, D]),
        false,
        &["/"],
    ),
    info(
        C::NextMatch,
        "next-match",
        "next search match",
        Scope::of(&[L]),
        false,
        &["n"],
    ),
    info(
        C::PrevMatch,
        "prev-match",
        "previous search match",
        Scope::of(&[L]),
        false,
        &["N"],
    ),
    info(
        C::CommandLine,
        "command-line",
        "command line (:help lists commands)",
        ALL,
        false,
        &[":"],
    ),
    info(
        C::SortNext,
        "sort-next",
        "sort by the next column",
        Scope::of(&[T]),
        false,
        &["s"],
    ),
    info(
        C::SortReverse,
        "sort-reverse",
        "reverse the sort",
        Scope::of(&[T]),
        false,
        &["S"],
    ),
    info(C::Follow, "follow", "follow the log", MAIN, false, &["f"]),
    info(
        C::Wrap,
        "wrap",
        "wrap long lines",
        Scope::of(&[L, D]),
        false,
        &["w"],
    ),
    info(
        C::NarrowLog,
        "narrow-log",
        "log of the selected task only / all",
        Scope::of(&[T, L]),
        false,
        &["L"],
    ),
    info(
        C::Timeline,
        "timeline",
        "timeline",
        Scope::of(&[T, H, L, M]),
        false,
        &["t"],
    ),
    info(
        C::ZoomIn,
        "zoom-in",
        "zoom in (shorter span)",
        Scope::of(&[M]),
        false,
        &["+", "="],
    ),
    info(
        C::ZoomOut,
        "zoom-out",
        "zoom out (longer span)",
        Scope::of(&[M]),
        false,
        &["-"],
    ),
    info(
        C::Refresh,
        "refresh",
        "refresh now",
        ALL,
        false,
        &["ctrl-r"],
    ),
    info(
        C::Redraw,
        "redraw",
        "redraw the screen",
        ALL,
        false,
        &["ctrl-l"],
    ),
    info(
        C::Mark,
        "mark",
        "mark / unmark",
        Scope::of(&[T]),
        false,
        &["space"],
    ),
    info(
        C::MarkAll,
        "mark-all",
        "mark all matching the filter",
        Scope::of(&[T]),
        false,
        &["ctrl-a"],
    ),
    info(
        C::Run,
        "run",
        "run, or re-run a concluded task",
        Scope::of(&[T, D]),
        true,
        &["r"],
    ),
    info(C::Add, "add", "add a task", ALL, true, &["a"]),
    info(
        C::Pause,
        "pause",
        "pause / resume the thread",
        Scope::of(&[T, H, D]),
        true,
        &["p"],
    ),
    info(
        C::ResumeContinue,
        "resume-continue",
        "resume the thread, continuing its failed task",
        Scope::of(&[T, H, D]),
        true,
        &["P"],
    ),
    info(
        C::Cancel,
        "cancel",
        "cancel (asks first)",
        Scope::of(&[T, D]),
        true,
        &["c"],
    ),
    info(
        C::Clean,
        "clean",
        "clean concluded (asks first)",
        Scope::of(&[T, D]),
        true,
        &["x"],
    ),
    info(
        C::Destroy,
        "destroy",
        "destroy (asks first)",
        Scope::of(&[T, D]),
        true,
        &["D"],
    ),
    info(
        C::Workload,
        "workload",
        "start / stop the sandbox workload",
        ALL,
        true,
        &["W"],
    ),
];

pub fn info_of(command: Command) -> &'static CommandInfo {
    COMMANDS
        .iter()
        .find(|i| i.command == command)
        .unwrap_or(&COMMANDS[0])
}

/// A key with its modifiers, normalised so `S` and `shift-s` are the same key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Key {
    code: KeyName,
    ctrl: bool,
    alt: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum KeyName {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

const NAMED: &[(&str, KeyName)] = &[
    ("enter", KeyName::Enter),
    ("esc", KeyName::Esc),
    ("tab", KeyName::Tab),
    ("shift-tab", KeyName::BackTab),
    ("backtab", KeyName::BackTab),
    ("backspace", KeyName::Backspace),
    ("delete", KeyName::Delete),
    ("insert", KeyName::Insert),
    ("up", KeyName::Up),
    ("down", KeyName::Down),
    ("left", KeyName::Left),
    ("right", KeyName::Right),
    ("pgup", KeyName::PageUp),
    ("pageup", KeyName::PageUp),
    ("pgdn", KeyName::PageDown),
    ("pagedown", KeyName::PageDown),
    ("home", KeyName::Home),
    ("end", KeyName::End),
    ("space", KeyName::Char(' ')),
];

impl Key {
    /// The key of a terminal event; `None` for releases and keys the keymap cannot name.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let code = match ev.code {
            // Shift is part of the character already (`G`, `?`), whatever the terminal
            // reports as modifiers.
            KeyCode::Char(c) => KeyName::Char(c),
            KeyCode::F(n) => KeyName::F(n),
            KeyCode::Enter => KeyName::Enter,
            KeyCode::Esc => KeyName::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyName::BackTab,
            KeyCode::Tab => KeyName::Tab,
            KeyCode::BackTab => KeyName::BackTab,
            KeyCode::Backspace => KeyName::Backspace,
            KeyCode::Delete => KeyName::Delete,
            KeyCode::Insert => KeyName::Insert,
            KeyCode::Up => KeyName::Up,
            KeyCode::Down => KeyName::Down,
            KeyCode::Left => KeyName::Left,
            KeyCode::Right => KeyName::Right,
            KeyCode::PageUp => KeyName::PageUp,
            KeyCode::PageDown => KeyName::PageDown,
            KeyCode::Home => KeyName::Home,
            KeyCode::End => KeyName::End,
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses `q`, `G`, `ctrl-c`, `alt-x`, `shift-tab`, `pgdn`, `f5`, `space`, `?`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = if let Some((_, k)) = NAMED.iter().find(|(n, _)| *n == lower) {
            *k
        } else if let Some(shifted) = lower.strip_prefix("shift-")
            && shifted.chars().count() == 1
        {
            KeyName::Char(shifted.chars().next().unwrap_or(' ').to_ascii_uppercase())
        } else if rest.chars().count() == 1 {
            let c = rest.chars().next().unwrap_or(' ');
            // Ctrl with a letter arrives lower-case from terminals.
            KeyName::Char(if ctrl { c.to_ascii_lowercase() } else { c })
        } else if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok())
            && (1..=24).contains(&n)
        {
            KeyName::F(n)
        } else {
            return Err(format!(
                "`{text}` is not a key; write e.g. `q`, `G`, `ctrl-c`, `alt-x`, `shift-tab`, `enter`, `esc`, `space`, `pgdn`, `f5`"
            ));
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyName::Char(' ') => f.write_str("Space"),
            KeyName::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyName::Char(c) => write!(f, "{c}"),
            KeyName::F(n) => write!(f, "F{n}"),
            KeyName::Enter => f.write_str("Enter"),
            KeyName::Esc => f.write_str("Esc"),
            KeyName::Tab => f.write_str("Tab"),
            KeyName::BackTab => f.write_str("Shift-Tab"),
            KeyName::Backspace => f.write_str("Backspace"),
            KeyName::Delete => f.write_str("Delete"),
            KeyName::Insert => f.write_str("Insert"),
            KeyName::Up => f.write_str("↑"),
            KeyName::Down => f.write_str("↓"),
            KeyName::Left => f.write_str("←"),
            KeyName::Right => f.write_str("→"),
            KeyName::PageUp => f.write_str("PgUp"),
            KeyName::PageDown => f.write_str("PgDn"),
            KeyName::Home => f.write_str("Home"),
            KeyName::End => f.write_str("End"),
        }
    }
}

/// Keys to commands, defaults plus the user's overrides.
#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<(Command, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: COMMANDS
                .iter()
                .map(|i| {
                    let keys = i.keys.iter().filter_map(|k| Key::parse(k).ok()).collect();
                    (i.command, keys)
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `overrides` (command name → keys) applied; a wrong name, key or
    /// a clash is an error naming it.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let Some(i) = COMMANDS.iter().find(|i| i.name == name) else {
                let names: Vec<&str> = COMMANDS.iter().map(|i| i.name).collect();
                return Err(format!(
                    "[keys] has `{name}`, which is not a command; the commands are: {}",
                    names.join(", ")
                ));
            };
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<Vec<Key>, String>>()?;
            if let Some(slot) = map.bindings.iter_mut().find(|(c, _)| *c == i.command) {
                slot.1 = parsed;
            }
        }
        map.check_clashes()?;
        Ok(map)
    }

    fn check_clashes(&self) -> Result<(), String> {
        for (i, (a, keys_a)) in self.bindings.iter().enumerate() {
            for (b, keys_b) in &self.bindings[i + 1..] {
                if !info_of(*a).scope.overlaps(info_of(*b).scope) {
                    continue;
                }
                if let Some(k) = keys_a.iter().find(|k| keys_b.contains(k)) {
                    return Err(format!(
                        "[keys]: {k} is bound to both `{}` and `{}`; give one of them another key",
                        info_of(*a).name,
                        info_of(*b).name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The command a key gives in a context.
    pub fn lookup(&self, key: Key, context: Context) -> Option<Command> {
        self.bindings
            .iter()
            .find(|(c, keys)| info_of(*c).scope.contains(context) && keys.contains(&key))
            .map(|(c, _)| *c)
    }

    pub fn keys(&self, command: Command) -> &[Key] {
        self.bindings
            .iter()
            .find(|(c, _)| *c == command)
            .map_or(&[], |(_, k)| k.as_slice())
    }

    /// The first key of a command as text, for hints (`?`), or `-` when unbound.
    pub fn hint(&self, command: Command) -> String {
        self.keys(command)
            .first()
            .map_or_else(|| "-".to_string(), Key::to_string)
    }

    /// What help shows for a context: (keys, help text), in keymap order.
    pub fn help(&self, context: Context, read_only: bool) -> Vec<(String, &'static str)> {
        COMMANDS
            .iter()
            .filter(|i| i.scope.contains(context) && !(read_only && i.mutates))
            .filter_map(|i| {
                let keys = self.keys(i.command);
                (!keys.is_empty()).then(|| {
                    let text: Vec<String> = keys.iter().map(Key::to_string).collect();
                    (text.join(" "), i.help)
                })
            })
            .collect()
    }
}

/// The `[keys]` section of the default config file.
pub fn default_keys_toml() -> String {
    let mut out = String::new();
    for i in COMMANDS {
        let keys: Vec<String> = i.keys.iter().map(|k| format!("\"{k}\"")).collect();
        out.push_str(&format!(
            "{:<16} = [{}]{}# {}\n",
            i.name,
            keys.join(", "),
            " ".repeat(20usize.saturating_sub(keys.join(", ").len() + 2)),
            i.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn parses_and_matches_terminal_events() {
        let k = |s: &str| Key::parse(s).unwrap();
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(k("ctrl-c"))
        );
        assert_eq!(
            Key::from_event(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(k("G"))
        );
        assert_eq!(k("shift-g"), k("G"));
        assert_eq!(
            Key::from_event(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(k("shift-tab"))
        );
        assert_eq!(k("ctrl-A"), k("ctrl-a"));
        assert!(Key::parse("hyper-x").is_err());
        assert_eq!(k("ctrl-c").to_string(), "Ctrl-C");
        assert_eq!(k("space").to_string(), "Space");
    }

    #[test]
    fn every_default_key_parses_and_nothing_clashes() {
        for i in COMMANDS {
            for k in i.keys {
                Key::parse(k).unwrap();
            }
        }
        Keymap::default().check_clashes().unwrap();
    }

    #[test]
    fn overrides_replace_keys_and_refuse_mistakes() {
        let mut o = BTreeMap::new();
        o.insert("cancel".to_string(), vec!["ctrl-k".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        let k = Key::parse("ctrl-k").unwrap();
        assert_eq!(map.lookup(k, Context::Tasks), Some(Command::Cancel));
        assert_eq!(map.lookup(Key::parse("c").unwrap(), Context::Tasks), None);

        o.insert("cancle".to_string(), vec!["z".to_string()]);
        let err = Keymap::with_overrides(&o).unwrap_err();
        assert!(err.contains("cancle") && err.contains("cancel"), "{err}");

        let mut o = BTreeMap::new();
        o.insert("clean".to_string(), vec!["c".to_string()]);
        let err = Keymap::with_overrides(&o).unwrap_err();
        assert!(err.contains("both"), "{err}");
    }

    #[test]
    fn help_hides_mutations_when_read_only() {
        let map = Keymap::default();
        let rw = map.help(Context::Tasks, false);
        let ro = map.help(Context::Tasks, true);
        assert!(rw.iter().any(|(_, h)| h.starts_with("cancel")));
        assert!(!ro.iter().any(|(_, h)| h.starts_with("cancel")));
    }
}
