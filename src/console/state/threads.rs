//! The threads pane: one row per thread, as the engine lists them.

use taskyard_core::model::ThreadRow;

#[derive(Clone, Debug, Default)]
pub struct ThreadsState {
    pub rows: Vec<ThreadRow>,
    pub selected: usize,
    pub top: usize,
    pub height: usize,
}

impl ThreadsState {
    /// New rows, locked threads first, then paused ones, then by name (what needs an
    /// operator comes first); the selection follows the thread it was on.
    pub fn set_rows(&mut self, mut rows: Vec<ThreadRow>) {
        let name = self.selected_row().map(|r| r.name.clone());
        rows.sort_by(|a, b| {
            (a.locked_by.is_none(), !a.paused, &a.name).cmp(&(
                b.locked_by.is_none(),
                !b.paused,
                &b.name,
            ))
        });
        self.rows = rows;
        if let Some(name) = name
            && let Some(i) = self.rows.iter().position(|r| r.name == name)
        {
            self.selected = i;
        }
        self.clamp();
    }

    pub fn selected_row(&self) -> Option<&ThreadRow> {
        self.rows.get(self.selected)
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            return;
        }
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, self.rows.len() as isize - 1) as usize;
        self.clamp();
    }

    pub fn select(&mut self, index: usize) {
        self.selected = index;
        self.clamp();
    }

    pub fn clamp(&mut self) {
        let n = self.rows.len();
        if n == 0 {
            self.selected = 0;
            self.top = 0;
            return;
        }
        self.selected = self.selected.min(n - 1);
        let h = self.height.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + h {
            self.top = self.selected + 1 - h;
        }
        self.top = self.top.min(n.saturating_sub(h));
    }

    /// Ready, waiting and created tasks of a thread: what is queued behind it.
    pub fn queued(row: &ThreadRow) -> u64 {
        ["created", "waiting", "ready"]
            .iter()
            .filter_map(|s| row.counts.get(*s))
            .sum()
    }
}
