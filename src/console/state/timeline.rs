//! The timeline (`t`): per-thread lanes of recent attempts over time, built from the
//! attempt starts and ends the event stream reports. Tasks without a thread get a lane
//! per definition, `(name)`.

use crate::console::inbox::{AttemptEnd, Edge};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use taskyard_core::Millis;
use taskyard_core::model::TaskId;

/// Finished attempts kept.
const MAX_SPANS: usize = 20_000;
/// Spans of the timeline, in seconds, that zoom steps through.
pub const ZOOMS: [u64; 7] = [15, 30, 60, 120, 300, 900, 3600];

#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub id: TaskId,
    pub lane: Arc<str>,
    pub start: Millis,
    pub end: Option<Millis>,
    pub how: Option<AttemptEnd>,
}

#[derive(Clone, Debug)]
pub struct TimelineState {
    pub done: VecDeque<Span>,
    pub open: HashMap<TaskId, Span>,
    /// Index into [`ZOOMS`].
    pub zoom: usize,
    pub top: usize,
    pub height: usize,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            done: VecDeque::new(),
            open: HashMap::new(),
            zoom: 2,
            top: 0,
            height: 10,
        }
    }
}

pub fn lane_of(thread: Option<&str>, name: &str) -> Arc<str> {
    match thread {
        Some(t) => Arc::from(t),
        None => Arc::from(format!("({name})")),
    }
}

impl TimelineState {
    pub fn span_ms(&self) -> u64 {
        ZOOMS[self.zoom.min(ZOOMS.len() - 1)] * 1000
    }

    pub fn apply(&mut self, edges: impl IntoIterator<Item = Edge>) {
        for e in edges {
            match e.end {
                None => {
                    let lane = lane_of(e.thread.as_deref(), &e.name);
                    self.open.insert(
                        e.id,
                        Span {
                            id: e.id,
                            lane,
                            start: e.at,
                            end: None,
                            how: None,
                        },
                    );
                }
                Some(how) => {
                    // An end without a start seen (the console started mid-attempt)
                    // is drawn from its end only.
                    let mut span = self.open.remove(&e.id).unwrap_or_else(|| Span {
                        id: e.id,
                        lane: lane_of(e.thread.as_deref(), &e.name),
                        start: e.at,
                        end: None,
                        how: None,
                    });
                    span.end = Some(e.at);
                    span.how = Some(how);
                    if self.done.len() >= MAX_SPANS {
                        self.done.pop_front();
                    }
                    self.done.push_back(span);
                }
            }
        }
    }

    /// Lanes with an attempt in the window ending at `now`, threads first, by name.
    pub fn lanes(&self, now: Millis) -> Vec<Arc<str>> {
        let from = Millis(now.0 - self.span_ms() as i64);
        let mut lanes: Vec<Arc<str>> = self
            .done
            .iter()
            .rev()
            .take_while(|s| s.end.is_some_and(|e| e >= from) || s.start >= from)
            .map(|s| s.lane.clone())
            .chain(self.open.values().map(|s| s.lane.clone()))
            .collect();
        lanes.sort_by(|a, b| (a.starts_with('('), a).cmp(&(b.starts_with('('), b)));
        lanes.dedup();
        lanes
    }

    /// Spans overlapping `[from, to]`, in any order.
    pub fn spans_between(&self, from: Millis, to: Millis) -> impl Iterator<Item = &Span> {
        self.done
            .iter()
            .rev()
            .take_while(move |s| s.end.is_some_and(|e| e >= from))
            .chain(self.open.values())
            .filter(move |s| s.start <= to)
    }

    pub fn scroll(&mut self, delta: isize, lanes: usize) {
        let max = lanes.saturating_sub(self.height);
        self.top = (self.top as isize + delta).clamp(0, max as isize) as usize;
    }

    pub fn zoom_in(&mut self) {
        self.zoom = self.zoom.saturating_sub(1);
    }

    pub fn zoom_out(&mut self) {
        self.zoom = (self.zoom + 1).min(ZOOMS.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(id: TaskId, at: i64, end: Option<AttemptEnd>) -> Edge {
        Edge {
            id,
            name: Arc::from("sum"),
            thread: id.is_multiple_of(2).then(|| Arc::from("billing")),
            at: Millis(at),
            end,
        }
    }

    #[test]
    fn attempts_become_spans_in_lanes() {
        let mut t = TimelineState::default();
        t.apply([
            edge(1, 1_000, None),
            edge(2, 1_500, None),
            edge(1, 3_000, Some(AttemptEnd::Failed)),
        ]);
        assert_eq!(t.open.len(), 1);
        assert_eq!(t.done[0].how, Some(AttemptEnd::Failed));
        let lanes = t.lanes(Millis(10_000));
        assert_eq!(lanes, vec![Arc::from("billing"), Arc::from("(sum)")]);
        assert_eq!(t.spans_between(Millis(0), Millis(10_000)).count(), 2);
        assert_eq!(t.spans_between(Millis(5_000), Millis(10_000)).count(), 1);
    }
}
