//! The `:` command line (SPEC §9): `:cancel 12 13`, `:pause imports`, `:resume imports
//! --continue`, `:run sum {"values":[1,2]}`, `:threads`, `:q`, with history (↑↓) and
//! completion (Tab). Commands the operator types act at once: typing is the confirmation.

use serde_json::Value;
use taskyard_core::Millis;
use taskyard_core::api::{Action, SortKey, SortOrder};
use taskyard_core::model::{RunItem, TaskRef, TaskSpec};
use tui_input::Input;

/// The commands, with their usage, for completion and `:help`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("cancel", "cancel REF... [--ignore]      REF: 12 or ref:42"),
    ("clean", "clean REF... [--ignore]"),
    ("destroy", "destroy REF..."),
    (
        "run",
        "run NAME [CONF] [--thread T] [--priority N] [--delay 10s]  |  run REF...",
    ),
    (
        "rerun",
        "rerun REF...                  re-run concluded tasks",
    ),
    ("conclude", "conclude ID [--result JSON] [--delay MS]"),
    ("pause", "pause THREAD... [--until RFC3339]"),
    ("resume", "resume THREAD... [--continue]"),
    (
        "filter",
        "filter [TEXT]                 as / does; empty clears",
    ),
    (
        "sort",
        "sort id|priority|created_at|updated_at|name|thread|status [asc|desc]",
    ),
    (
        "workload",
        "workload [on|off]             the sandbox's workload",
    ),
    ("tasks", "tasks                         the tasks pane"),
    ("threads", "threads                       the threads pane"),
    ("log", "log                           the log pane"),
    ("timeline", "timeline                      the timeline"),
    (
        "schedules",
        "schedules                     schedules and their next firing",
    ),
    (
        "refresh",
        "refresh                       re-read everything",
    ),
    ("help", "help                          keys and commands"),
    ("quit", "quit (or q)"),
];

/// What a command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Act(Action),
    Filter(String),
    Sort(SortKey, Option<SortOrder>),
    Workload(Option<bool>),
    Tasks,
    Threads,
    Log,
    Timeline,
    Schedules,
    Refresh,
    Help,
    Quit,
}

#[derive(Clone, Debug, Default)]
pub struct CommandLine {
    pub input: Input,
    /// Position in the history while browsing it with ↑↓.
    pub history_pos: Option<usize>,
    /// What was typed before browsing the history.
    pub draft: String,
    /// Candidates of the last Tab, and which one is shown.
    pub completions: Vec<String>,
    pub completion_pos: usize,
}

impl CommandLine {
    /// ↑ (`back`) or ↓ through the history.
    pub fn browse(&mut self, history: &[String], back: bool) {
        if history.is_empty() {
            return;
        }
        let pos = match (self.history_pos, back) {
            (None, true) => {
                self.draft = self.input.value().to_string();
                Some(history.len() - 1)
            }
            (None, false) => None,
            (Some(p), true) => Some(p.saturating_sub(1)),
            (Some(p), false) if p + 1 < history.len() => Some(p + 1),
            (Some(_), false) => None,
        };
        self.history_pos = pos;
        let text = pos.map_or_else(|| self.draft.clone(), |p| history[p].clone());
        self.input = Input::new(text);
    }

    /// Tab: completes the word under the cursor, cycling on repeat.
    pub fn complete(&mut self, threads: &[String], definitions: &[String]) {
        let value = self.input.value().to_string();
        let word_start = value.rfind(' ').map_or(0, |i| i + 1);
        if !self.completions.is_empty() {
            self.completion_pos = (self.completion_pos + 1) % self.completions.len();
        } else {
            let words: Vec<&str> = value.split_whitespace().collect();
            let first = word_start == 0;
            let partial = &value[word_start..];
            let pool: Vec<String> = if first {
                COMMANDS.iter().map(|(c, _)| c.to_string()).collect()
            } else {
                match words.first().copied().unwrap_or("") {
                    "pause" => threads
                        .iter()
                        .cloned()
                        .chain(["--until".to_string()])
                        .collect(),
                    "resume" => threads
                        .iter()
                        .cloned()
                        .chain(["--continue".to_string()])
                        .collect(),
                    "run" if words.len() <= 2 && !value.ends_with(' ') || words.len() == 1 => {
                        definitions.to_vec()
                    }
                    "run" => ["--thread", "--priority", "--delay"]
                        .map(String::from)
                        .to_vec(),
                    "cancel" | "clean" => vec!["--ignore".into()],
                    "conclude" => vec!["--result".into(), "--delay".into()],
                    "sort" if words.len() <= 2 && !value.ends_with(' ') || words.len() == 1 => {
                        SortKey::ALL
                            .iter()
                            .map(|k| k.as_str().to_string())
                            .collect()
                    }
                    "sort" => vec!["asc".into(), "desc".into()],
                    "workload" => vec!["on".into(), "off".into()],
                    _ => Vec::new(),
                }
            };
            self.completions = pool
                .into_iter()
                .filter(|c| c.starts_with(partial))
                .collect();
            self.completion_pos = 0;
            if self.completions.is_empty() {
                return;
            }
        }
        let pick = &self.completions[self.completion_pos];
        let mut text = value[..word_start].to_string();
        text.push_str(pick);
        self.input = Input::new(text);
    }

    /// Any key but Tab ends a completion cycle.
    pub fn end_completion(&mut self) {
        self.completions.clear();
        self.completion_pos = 0;
    }
}

fn task_ref(word: &str) -> Result<TaskRef, String> {
    if let Some(r) = word.strip_prefix("ref:") {
        return r
            .parse()
            .map(|r| TaskRef::Ref(vec![r]))
            .map_err(|_| format!("`{word}` is not a reference; write ref:42"));
    }
    word.trim_start_matches('#')
        .parse()
        .map(TaskRef::Id)
        .map_err(|_| format!("`{word}` is not a task; write an id (12) or ref:42"))
}

/// Splits off one JSON value at the start of `text`; returns it and the rest.
fn leading_json(text: &str) -> Result<(Value, &str), String> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => Ok((v, &text[stream.byte_offset()..])),
        Some(Err(e)) => Err(format!("`{}` is not JSON: {e}", text.trim())),
        None => Err("JSON expected".into()),
    }
}

/// Parses a command line (without the `:`). `now` dates `--delay`.
pub fn parse(line: &str, now: Millis) -> Result<Cmd, String> {
    let line = line.trim();
    let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let flags = |allowed: &[&str]| -> Result<Vec<&str>, String> {
        let mut seen = Vec::new();
        for w in words.iter().filter(|w| w.starts_with("--") || **w == "!") {
            if !allowed.contains(w) {
                return Err(if allowed.is_empty() {
                    format!("`{cmd}` takes no option `{w}`")
                } else {
                    format!("`{cmd}` takes {}, not `{w}`", allowed.join(" or "))
                });
            }
            seen.push(*w);
        }
        Ok(seen)
    };
    let refs = |need: bool| -> Result<Vec<TaskRef>, String> {
        let r: Vec<TaskRef> = words
            .iter()
            .filter(|w| !w.starts_with("--") && **w != "!")
            .map(|w| task_ref(w))
            .collect::<Result<_, _>>()?;
        if need && r.is_empty() {
            return Err(format!(
                "`{cmd}` needs at least one task: e.g. :{cmd} 12 13"
            ));
        }
        Ok(r)
    };
    let threads = |need: bool| -> Vec<String> {
        let t: Vec<String> = words
            .iter()
            .take_while(|w| !w.starts_with("--"))
            .map(|w| w.to_string())
            .collect();
        let _ = need;
        t
    };
    match cmd {
        "cancel" | "clean" => {
            let ignore = !flags(&["--ignore", "!"])?.is_empty();
            let tasks = refs(true)?;
            Ok(Cmd::Act(if cmd == "cancel" {
                Action::Cancel { tasks, ignore }
            } else {
                Action::Clean { tasks, ignore }
            }))
        }
        "destroy" => {
            flags(&[])?;
            Ok(Cmd::Act(Action::Destroy { tasks: refs(true)? }))
        }
        "rerun" => {
            flags(&[])?;
            let tasks = refs(true)?.into_iter().map(RunItem::Existing).collect();
            Ok(Cmd::Act(Action::Run {
                tasks,
                ignore: false,
            }))
        }
        "run" => {
            let Some(first) = words.first() else {
                return Err(
                    "`run` needs a definition name or task ids: :run sum {\"values\":[1,2]}".into(),
                );
            };
            if first.chars().all(|c| c.is_ascii_digit() || c == '#') || first.starts_with("ref:") {
                flags(&[])?;
                let tasks = refs(true)?.into_iter().map(RunItem::Existing).collect();
                return Ok(Cmd::Act(Action::Run {
                    tasks,
                    ignore: false,
                }));
            }
            let mut spec = TaskSpec::new(*first);
            let mut tail = rest[first.len()..].trim_start();
            if tail.starts_with('{') || tail.starts_with('[') || tail.starts_with('"') {
                let (conf, after) = leading_json(tail)?;
                spec.conf = Some(conf);
                tail = after.trim_start();
            }
            let mut opts = tail.split_whitespace();
            while let Some(opt) = opts.next() {
                let mut value = |what: &str| {
                    opts.next()
                        .ok_or_else(|| format!("`{opt}` needs a value, e.g. {opt} {what}"))
                };
                match opt {
                    "--thread" => spec.thread = Some(value("imports")?.to_string()),
                    "--priority" => {
                        let v = value("5")?;
                        spec.priority = v
                            .parse()
                            .map_err(|_| format!("--priority `{v}` is not a whole number"))?;
                    }
                    "--delay" => {
                        let ms = crate::console::format::parse_delay(value("10s")?)?;
                        spec.execute_at = Some(now.plus_ms(ms));
                    }
                    other => {
                        return Err(format!(
                            "`run` takes --thread, --priority or --delay after the conf, not `{other}`"
                        ));
                    }
                }
            }
            Ok(Cmd::Act(Action::Run {
                tasks: vec![RunItem::New(Box::new(spec))],
                ignore: false,
            }))
        }
        "conclude" => {
            let Some(id) = words.first() else {
                return Err("`conclude` needs a task id: :conclude 12".into());
            };
            let TaskRef::Id(task) = task_ref(id)? else {
                return Err("`conclude` takes one task id, not a ref".into());
            };
            let mut tail = rest[id.len()..].trim_start();
            let (mut result, mut delay) = (None, 0);
            while !tail.is_empty() {
                if let Some(r) = tail.strip_prefix("--result") {
                    let (v, after) = leading_json(r.trim_start())?;
                    result = Some(v);
                    tail = after.trim_start();
                } else if let Some(d) = tail.strip_prefix("--delay") {
                    let d = d.trim_start();
                    let (num, after) = d.split_once(' ').unwrap_or((d, ""));
                    delay = num
                        .parse()
                        .map_err(|_| format!("--delay `{num}` is not milliseconds (0-5000)"))?;
                    tail = after.trim_start();
                } else {
                    return Err(format!(
                        "`conclude` takes --result JSON or --delay MS, not `{tail}`"
                    ));
                }
            }
            Ok(Cmd::Act(Action::Conclude {
                task,
                delay,
                result,
            }))
        }
        "pause" => {
            let names = threads(true);
            if names.is_empty() {
                return Err("`pause` needs a thread: :pause imports".into());
            }
            let mut until = None;
            let mut it = words.iter().skip(names.len());
            while let Some(w) = it.next() {
                match *w {
                    "--until" => {
                        let v = it
                            .next()
                            .ok_or("`--until` needs a time, e.g. --until 2026-11-23T18:00:00Z")?;
                        until = Some(Millis::parse(v)?);
                    }
                    other => return Err(format!("`pause` takes --until TIME, not `{other}`")),
                }
            }
            Ok(Cmd::Act(Action::Pause {
                threads: names,
                until,
            }))
        }
        "resume" => {
            let names = threads(true);
            if names.is_empty() {
                return Err("`resume` needs a thread: :resume imports [--continue]".into());
            }
            let continue_ = !flags(&["--continue"])?.is_empty();
            Ok(Cmd::Act(Action::Resume {
                threads: names,
                continue_,
            }))
        }
        "filter" => Ok(Cmd::Filter(rest.to_string())),
        "sort" => {
            let Some(key) = words.first() else {
                return Err("`sort` needs a column: id, priority, created_at, updated_at, name, thread or status".into());
            };
            let key = SortKey::parse(key).ok_or_else(|| {
                format!("cannot sort by `{key}`; use id, priority, created_at, updated_at, name, thread or status")
            })?;
            let order = match words.get(1).copied() {
                None => None,
                Some("asc") => Some(SortOrder::Asc),
                Some("desc") => Some(SortOrder::Desc),
                Some(o) => return Err(format!("sort order `{o}` is neither asc nor desc")),
            };
            Ok(Cmd::Sort(key, order))
        }
        "workload" => match words.first().copied() {
            None => Ok(Cmd::Workload(None)),
            Some("on") => Ok(Cmd::Workload(Some(true))),
            Some("off") => Ok(Cmd::Workload(Some(false))),
            Some(o) => Err(format!("`workload` takes on or off, not `{o}`")),
        },
        "tasks" => Ok(Cmd::Tasks),
        "threads" => Ok(Cmd::Threads),
        "log" => Ok(Cmd::Log),
        "timeline" => Ok(Cmd::Timeline),
        "schedules" => Ok(Cmd::Schedules),
        "refresh" => Ok(Cmd::Refresh),
        "help" | "h" => Ok(Cmd::Help),
        "q" | "quit" | "q!" | "qa" => Ok(Cmd::Quit),
        "" => Err("type a command; Tab completes, :help lists them".into()),
        other => Err(format!(
            "`{other}` is not a command; Tab completes, :help lists them"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Cmd, String> {
        parse(s, Millis(1_000))
    }

    #[test]
    fn parses_the_spec_examples() {
        assert_eq!(
            p("cancel 12 13"),
            Ok(Cmd::Act(Action::Cancel {
                tasks: vec![TaskRef::Id(12), TaskRef::Id(13)],
                ignore: false
            }))
        );
        assert_eq!(
            p("pause imports"),
            Ok(Cmd::Act(Action::Pause {
                threads: vec!["imports".into()],
                until: None
            }))
        );
        assert_eq!(
            p("resume imports --continue"),
            Ok(Cmd::Act(Action::Resume {
                threads: vec!["imports".into()],
                continue_: true
            }))
        );
        let Ok(Cmd::Act(Action::Run { tasks, .. })) =
            p(r#"run sum {"values": [1, 2]} --thread t --priority 3 --delay 2s"#)
        else {
            panic!()
        };
        let RunItem::New(spec) = &tasks[0] else {
            panic!()
        };
        assert_eq!(spec.conf, Some(serde_json::json!({"values":[1,2]})));
        assert_eq!(spec.thread.as_deref(), Some("t"));
        assert_eq!(spec.priority, 3);
        assert_eq!(spec.execute_at, Some(Millis(3_000)));
        assert_eq!(p("threads"), Ok(Cmd::Threads));
        assert_eq!(p("q"), Ok(Cmd::Quit));
        assert!(matches!(p("run 12"), Ok(Cmd::Act(Action::Run { .. }))));
        assert!(matches!(
            p("cancel ref:42 --ignore"),
            Ok(Cmd::Act(Action::Cancel { ignore: true, .. }))
        ));
    }

    #[test]
    fn mistakes_say_what_to_do() {
        assert!(p("cancel").unwrap_err().contains(":cancel 12"));
        assert!(p("cancel abc").unwrap_err().contains("ref:42"));
        assert!(p("destroy 1 --ignore").unwrap_err().contains("--ignore"));
        assert!(p("run sum {\"values\":").unwrap_err().contains("not JSON"));
        assert!(p("launch").unwrap_err().contains("not a command"));
        assert!(p("sort colour").unwrap_err().contains("priority"));
    }

    #[test]
    fn completes_and_browses_history() {
        let mut c = CommandLine {
            input: Input::new("pa".into()),
            ..CommandLine::default()
        };
        c.complete(&[], &[]);
        assert_eq!(c.input.value(), "pause");
        c.end_completion();
        c.input = Input::new("pause im".into());
        c.complete(&["imports".into(), "billing".into()], &[]);
        assert_eq!(c.input.value(), "pause imports");
        c.end_completion();
        c.input = Input::new("run s".into());
        c.complete(&[], &["sum".into(), "spawn".into()]);
        assert_eq!(c.input.value(), "run sum");
        c.complete(&[], &["sum".into(), "spawn".into()]);
        assert_eq!(c.input.value(), "run spawn");

        let history = vec!["threads".to_string(), "cancel 1".to_string()];
        let mut c = CommandLine {
            input: Input::new("dra".into()),
            ..CommandLine::default()
        };
        c.browse(&history, true);
        assert_eq!(c.input.value(), "cancel 1");
        c.browse(&history, true);
        assert_eq!(c.input.value(), "threads");
        c.browse(&history, false);
        c.browse(&history, false);
        assert_eq!(c.input.value(), "dra");
    }
}
