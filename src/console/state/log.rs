//! The live log pane: the newest lines of the event stream, follow mode, wrap, search,
//! narrowing to one task, and how many lines were dropped because the stream outran it.

use crate::console::inbox::LogLine;
use std::collections::VecDeque;
use taskyard_core::model::TaskId;

/// Lines kept; older ones scroll out.
pub const CAPACITY: usize = 5_000;

#[derive(Clone, Debug)]
pub struct LogState {
    /// Every line, numbered in arrival order.
    lines: VecDeque<(u64, LogLine)>,
    /// Lines of the task the pane is narrowed to (its stored log, then live ones).
    narrow_lines: VecDeque<(u64, LogLine)>,
    next_n: u64,
    pub follow: bool,
    /// When not following: the number of the bottom line shown.
    pub anchor: u64,
    pub wrap: bool,
    /// Lower-cased search text; empty for none.
    pub search: String,
    pub dropped: u64,
    /// Times the stream was reset and everything re-read.
    pub resyncs: u64,
    pub narrow: Option<TaskId>,
    pub height: usize,
}

impl Default for LogState {
    fn default() -> Self {
        LogState {
            lines: VecDeque::new(),
            narrow_lines: VecDeque::new(),
            next_n: 0,
            follow: true,
            anchor: 0,
            wrap: false,
            search: String::new(),
            dropped: 0,
            resyncs: 0,
            narrow: None,
            height: 5,
        }
    }
}

fn push(lines: &mut VecDeque<(u64, LogLine)>, n: u64, line: LogLine) {
    if lines.len() >= CAPACITY {
        lines.pop_front();
    }
    lines.push_back((n, line));
}

impl LogState {
    pub fn append(&mut self, new: impl IntoIterator<Item = LogLine>) {
        for line in new {
            let n = self.next_n;
            self.next_n += 1;
            if self.narrow == Some(line.id) {
                push(&mut self.narrow_lines, n, line.clone());
            }
            push(&mut self.lines, n, line);
        }
    }

    /// The lines the pane shows: all, or the narrowed task's.
    pub fn shown(&self) -> &VecDeque<(u64, LogLine)> {
        if self.narrow.is_some() {
            &self.narrow_lines
        } else {
            &self.lines
        }
    }

    /// Narrows to a task, starting from its stored log (`backlog`, oldest first).
    pub fn narrow_to(&mut self, id: TaskId, backlog: Vec<LogLine>) {
        self.narrow = Some(id);
        self.narrow_lines.clear();
        // Stored entries first; live lines already received that are newer follow.
        let newest_stored = backlog.last().map(|l| l.seq).unwrap_or(0);
        let mut n = 0;
        for line in backlog {
            push(&mut self.narrow_lines, n, line);
            n += 1;
        }
        let live: Vec<LogLine> = self
            .lines
            .iter()
            .filter(|(_, l)| l.id == id && l.seq > newest_stored)
            .map(|(_, l)| l.clone())
            .collect();
        for line in live {
            push(&mut self.narrow_lines, n, line);
            n += 1;
        }
        // Renumber so the narrowed lines sort before anything that arrives next.
        let base = self.next_n;
        for (i, (k, _)) in self.narrow_lines.iter_mut().enumerate() {
            *k = base + i as u64;
        }
        self.next_n = base + self.narrow_lines.len() as u64;
        self.follow = true;
    }

    pub fn widen(&mut self) {
        self.narrow = None;
        self.narrow_lines.clear();
        self.follow = true;
    }

    /// Index (into `shown`) of the bottom line shown.
    pub fn bottom_index(&self) -> Option<usize> {
        let lines = self.shown();
        if lines.is_empty() {
            return None;
        }
        if self.follow {
            return Some(lines.len() - 1);
        }
        let i = lines.partition_point(|(n, _)| *n <= self.anchor);
        Some(i.saturating_sub(1))
    }

    fn set_bottom(&mut self, index: usize) {
        let lines = self.shown();
        if lines.is_empty() {
            return;
        }
        let last = lines.len() - 1;
        let index = index.min(last);
        self.anchor = lines[index].0;
        self.follow = index == last;
    }

    /// Scrolls by `delta` lines (negative: up, to older lines). Reaching the bottom
    /// turns follow back on, like `less +F`.
    pub fn scroll(&mut self, delta: isize) {
        let Some(bottom) = self.bottom_index() else {
            return;
        };
        let min = self
            .height
            .saturating_sub(1)
            .min(self.shown().len().saturating_sub(1));
        let target = (bottom as isize + delta).max(min as isize) as usize;
        self.set_bottom(target);
    }

    pub fn top(&mut self) {
        let h = self.height.saturating_sub(1);
        self.set_bottom(h);
        self.follow = false;
    }

    pub fn bottom(&mut self) {
        self.follow = true;
    }

    pub fn toggle_follow(&mut self) {
        if self.follow {
            if let Some(b) = self.bottom_index() {
                self.anchor = self.shown()[b].0;
            }
            self.follow = false;
        } else {
            self.follow = true;
        }
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        !self.search.is_empty() && haystack(line).contains(&self.search)
    }

    /// Moves to the next match, older (`back`) or newer than the bottom line; returns
    /// whether there was one.
    pub fn jump(&mut self, back: bool) -> bool {
        let Some(bottom) = self.bottom_index() else {
            return false;
        };
        let lines = self.shown();
        let found = if back {
            (0..bottom).rev().find(|i| self.matches(&lines[*i].1))
        } else {
            (bottom + 1..lines.len()).find(|i| self.matches(&lines[*i].1))
        };
        match found {
            Some(i) => {
                self.anchor = lines[i].0;
                self.follow = false;
                true
            }
            None => false,
        }
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.narrow_lines.clear();
        self.follow = true;
    }
}

/// What search looks at: id, name, thread and text, lower-cased.
pub fn haystack(line: &LogLine) -> String {
    format!(
        "#{} {} {} {}",
        line.id,
        line.name,
        line.thread.as_deref().unwrap_or(""),
        line.text
    )
    .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::inbox::LineKind;
    use std::sync::Arc;
    use taskyard_core::Millis;

    fn line(id: TaskId, text: &str) -> LogLine {
        LogLine {
            seq: id,
            at: Millis(0),
            id,
            name: Arc::from("sum"),
            thread: None,
            kind: LineKind::Log,
            text: text.into(),
        }
    }

    #[test]
    fn scrolling_stops_following_and_the_bottom_resumes_it() {
        let mut log = LogState {
            height: 3,
            ..LogState::default()
        };
        log.append((1..=10).map(|i| line(i, "x")));
        assert_eq!(log.bottom_index(), Some(9));
        log.scroll(-4);
        assert!(!log.follow);
        assert_eq!(log.bottom_index(), Some(5));
        // New lines do not move what is shown.
        log.append((11..=12).map(|i| line(i, "x")));
        assert_eq!(log.bottom_index(), Some(5));
        log.scroll(100);
        assert!(log.follow);
        log.scroll(-100);
        assert_eq!(log.bottom_index(), Some(2));
    }

    #[test]
    fn search_jumps_between_matches() {
        let mut log = LogState::default();
        log.append([
            line(1, "alpha"),
            line(2, "beta"),
            line(3, "alpha"),
            line(4, "gamma"),
        ]);
        log.search = "alpha".into();
        assert!(log.jump(true));
        assert_eq!(log.bottom_index(), Some(2));
        assert!(log.jump(true));
        assert_eq!(log.bottom_index(), Some(0));
        assert!(!log.jump(true));
        assert!(log.jump(false));
        assert_eq!(log.bottom_index(), Some(2));
    }

    #[test]
    fn narrowing_shows_one_task() {
        let mut log = LogState::default();
        log.append([line(1, "a"), line(2, "b"), line(1, "c")]);
        log.narrow_to(1, vec![line(1, "stored")]);
        let texts: Vec<&str> = log.shown().iter().map(|(_, l)| l.text.as_str()).collect();
        // Live lines already in the stored log are not repeated.
        assert_eq!(texts, ["stored"]);
        log.append([line(1, "d"), line(2, "e")]);
        assert_eq!(log.shown().back().unwrap().1.text, "d");
        log.widen();
        assert_eq!(log.shown().len(), 5);
    }
}
