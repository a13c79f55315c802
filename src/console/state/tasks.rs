//! The tasks table: filter, sort, selection, marks, and the window of rows loaded. The
//! table is virtual: only the rows around the viewport are ever asked for, so a million
//! tasks scroll like a hundred.

use std::collections::BTreeSet;
use taskyard_core::api::{SortKey, SortOrder, TaskPage, TaskQuery};
use taskyard_core::model::{Task, TaskId, TaskRef};

/// The marks: single tasks, or every task a filter matches (`Ctrl-A`), which the engine
/// resolves when the action applies, however many there are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Marks {
    pub ids: BTreeSet<TaskId>,
    /// Everything matching this filter, `total` tasks when it was marked.
    pub all: Option<(String, u64)>,
}

impl Marks {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.all.is_none()
    }

    pub fn count(&self) -> u64 {
        match &self.all {
            Some((_, n)) => *n,
            None => self.ids.len() as u64,
        }
    }

    pub fn clear(&mut self) {
        self.ids.clear();
        self.all = None;
    }

    pub fn contains(&self, task: &Task, current_filter: &str) -> bool {
        self.ids.contains(&task.id)
            || self
                .all
                .as_ref()
                .is_some_and(|(f, _)| f.as_str() == current_filter)
    }

    pub fn refs(&self) -> Vec<TaskRef> {
        match &self.all {
            Some((filter, _)) => vec![TaskRef::Query(filter.clone())],
            None => self.ids.iter().map(|id| TaskRef::Id(*id)).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TasksState {
    /// The filter applied (the engine's language, SPEC §5).
    pub filter: String,
    pub sort: SortKey,
    pub order: SortOrder,
    /// Absolute index of the selected row among the matching tasks.
    pub selected: usize,
    /// Absolute index of the first row shown.
    pub top: usize,
    /// Rows the table shows.
    pub height: usize,
    /// The loaded window: `rows[i]` is row `offset + i`.
    pub offset: usize,
    pub rows: Vec<Task>,
    pub total: u64,
    pub loaded: bool,
    /// Why the last query was refused (e.g. a filter that does not parse).
    pub error: Option<String>,
    pub marks: Marks,
    inflight: Option<u64>,
    /// Asked for again while a query was in flight.
    again: bool,
    /// Changed on the engine: refresh at the next tick.
    pub stale: bool,
    /// The query of the rows shown, so a reply to an older one is not mistaken for it.
    shown: Option<(String, SortKey, SortOrder)>,
}

impl Default for TasksState {
    fn default() -> Self {
        TasksState {
            filter: String::new(),
            // Newest first: what an operator watching a live queue wants to see.
            sort: SortKey::Id,
            order: SortOrder::Desc,
            selected: 0,
            top: 0,
            height: 10,
            offset: 0,
            rows: Vec::new(),
            total: 0,
            loaded: false,
            error: None,
            marks: Marks::default(),
            inflight: None,
            again: false,
            stale: false,
            shown: None,
        }
    }
}

impl TasksState {
    /// The window to ask for: a page above and below the viewport, so small moves need
    /// no round trip.
    pub fn window(&self) -> TaskQuery {
        let h = self.height.max(1);
        let offset = self.top.saturating_sub(h);
        TaskQuery {
            filter: self.filter.clone(),
            sort: self.sort,
            order: self.order,
            offset,
            limit: h * 3,
            after: None,
        }
    }

    /// Whether the loaded rows cover the viewport (or all there is).
    pub fn covers(&self) -> bool {
        if self.shown.as_ref() != Some(&(self.filter.clone(), self.sort, self.order)) {
            return false;
        }
        let end = (self.top + self.height).min(self.total as usize);
        self.offset <= self.top && end <= self.offset + self.rows.len()
    }

    /// A query for `token` if none is in flight; else one will follow the reply.
    pub fn request(&mut self, token: u64) -> Option<TaskQuery> {
        if self.inflight.is_some() {
            self.again = true;
            return None;
        }
        self.inflight = Some(token);
        self.again = false;
        self.stale = false;
        Some(self.window())
    }

    pub fn inflight(&self) -> bool {
        self.inflight.is_some()
    }

    /// Applies a reply; returns whether another query is needed at once.
    pub fn apply(
        &mut self,
        token: u64,
        query: &TaskQuery,
        result: Result<TaskPage, String>,
    ) -> bool {
        if self.inflight != Some(token) {
            return false;
        }
        self.inflight = None;
        let same =
            query.filter == self.filter && query.sort == self.sort && query.order == self.order;
        match result {
            Ok(page) if same => {
                self.error = None;
                self.offset = query.offset;
                self.rows = page.tasks;
                self.total = page.total;
                self.loaded = true;
                self.shown = Some((query.filter.clone(), query.sort, query.order));
                self.clamp();
            }
            Ok(_) => {}
            Err(message) => {
                if same {
                    self.error = Some(message);
                }
            }
        }
        let again = self.again || !same || (!self.covers() && self.error.is_none());
        self.again = false;
        again
    }

    /// Keeps the selection inside what exists and the viewport around it.
    pub fn clamp(&mut self) {
        let total = self.total as usize;
        if total == 0 {
            self.selected = 0;
            self.top = 0;
            return;
        }
        self.selected = self.selected.min(total - 1);
        let h = self.height.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + h {
            self.top = self.selected + 1 - h;
        }
        self.top = self.top.min(total.saturating_sub(h));
    }

    /// Moves the selection by `delta` rows (clamped).
    pub fn move_by(&mut self, delta: isize) {
        let total = self.total as usize;
        if total == 0 {
            return;
        }
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, total as isize - 1) as usize;
        self.clamp();
    }

    pub fn select(&mut self, index: usize) {
        self.selected = index;
        self.clamp();
    }

    /// Row `index` if loaded.
    pub fn row(&self, index: usize) -> Option<&Task> {
        index
            .checked_sub(self.offset)
            .and_then(|i| self.rows.get(i))
    }

    pub fn selected_task(&self) -> Option<&Task> {
        self.row(self.selected)
    }

    /// A new filter or sort: back to the top, marks of single rows kept.
    pub fn reset_view(&mut self) {
        self.selected = 0;
        self.top = 0;
    }

    /// Sorts by the next column (`s`).
    pub fn sort_next(&mut self) {
        let i = SortKey::ALL
            .iter()
            .position(|k| *k == self.sort)
            .unwrap_or(0);
        self.sort = SortKey::ALL[(i + 1) % SortKey::ALL.len()];
        self.reset_view();
    }

    pub fn reverse(&mut self) {
        self.order = match self.order {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        };
        self.reset_view();
    }

    /// Marked tasks, else the selected one, as references, with how many and which ids
    /// (for the dialog).
    pub fn targets(&self) -> Option<Targets> {
        if let Some((filter, n)) = &self.marks.all {
            let sample: Vec<TaskId> = if *filter == self.filter {
                self.rows.iter().take(8).map(|t| t.id).collect()
            } else {
                Vec::new()
            };
            return Some(Targets {
                refs: self.marks.refs(),
                count: *n,
                ids: sample,
                filter: Some(filter.clone()),
            });
        }
        if !self.marks.ids.is_empty() {
            return Some(Targets {
                refs: self.marks.refs(),
                count: self.marks.ids.len() as u64,
                ids: self.marks.ids.iter().copied().collect(),
                filter: None,
            });
        }
        self.selected_task().map(|t| Targets {
            refs: vec![TaskRef::Id(t.id)],
            count: 1,
            ids: vec![t.id],
            filter: None,
        })
    }
}

/// What an action on "the marked tasks, else the selected one" acts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    pub refs: Vec<TaskRef>,
    pub count: u64,
    /// The ids, or a sample of them when a filter was marked.
    pub ids: Vec<TaskId>,
    /// Set when every task matching this filter is the target.
    pub filter: Option<String>,
}

impl Targets {
    /// `3 tasks: 12, 13 and 14`, or `all 1,204 tasks matching status:failed (12, 13, …)`.
    pub fn describe(&self) -> String {
        let plural = if self.count == 1 { "task" } else { "tasks" };
        const SHOWN: usize = 10;
        let mut ids: Vec<String> = self.ids.iter().take(SHOWN).map(|i| i.to_string()).collect();
        let more =
            self.ids.len() > SHOWN || (self.filter.is_some() && self.count as usize > ids.len());
        if more {
            ids.push("…".into());
        }
        match &self.filter {
            Some(f) if f.is_empty() => format!(
                "all {} {plural} ({})",
                crate::console::format::thousands(self.count),
                ids.join(", ")
            ),
            Some(f) => format!(
                "all {} {plural} matching `{f}` ({})",
                crate::console::format::thousands(self.count),
                ids.join(", ")
            ),
            None => format!("{} {plural}: {}", self.count, ids.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_stays_in_range_and_in_view() {
        let mut t = TasksState {
            height: 10,
            total: 100,
            ..TasksState::default()
        };
        t.move_by(15);
        assert_eq!((t.selected, t.top), (15, 6));
        t.move_by(-100);
        assert_eq!((t.selected, t.top), (0, 0));
        t.move_by(1000);
        assert_eq!((t.selected, t.top), (99, 90));
        t.total = 50;
        t.clamp();
        assert_eq!((t.selected, t.top), (49, 40));
    }

    #[test]
    fn the_window_surrounds_the_viewport() {
        let t = TasksState {
            height: 10,
            top: 30,
            total: 100,
            ..TasksState::default()
        };
        let q = t.window();
        assert_eq!((q.offset, q.limit), (20, 30));
    }
}
