//! The tasks table: only the rows in view are built, whatever the total.

use super::pane;
use crate::console::format::{age, duration, fit, thousands};
use crate::console::state::{App, Pane};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use taskyard_core::api::{SortKey, SortOrder};
use taskyard_core::model::{Status, Task};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Id,
    Name,
    Thread,
    Status,
    Outcome,
    Priority,
    Attempt,
    Age,
    Duration,
    Desc,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Id => "ID",
            Col::Name => "NAME",
            Col::Thread => "THREAD",
            Col::Status => "STATUS",
            Col::Outcome => "OUTCOME",
            Col::Priority => "PRI",
            Col::Attempt => "ATT",
            Col::Age => "AGE",
            Col::Duration => "DUR",
            Col::Desc => "DESC",
        }
    }

    fn sort_key(self) -> Option<SortKey> {
        match self {
            Col::Id => Some(SortKey::Id),
            Col::Name => Some(SortKey::Name),
            Col::Thread => Some(SortKey::Thread),
            Col::Status => Some(SortKey::Status),
            Col::Priority => Some(SortKey::Priority),
            Col::Age => Some(SortKey::CreatedAt),
            _ => None,
        }
    }
}

/// Columns by importance with their widths; the table takes as many as fit, then DESC
/// gets the rest.
fn columns(width: u16) -> Vec<(Col, u16)> {
    let wanted = [
        (Col::Id, 8),
        (Col::Name, 10),
        (Col::Status, 11),
        (Col::Outcome, 16),
        (Col::Thread, 16),
        (Col::Age, 5),
        (Col::Duration, 7),
        (Col::Priority, 4),
        (Col::Attempt, 3),
    ];
    let mut used = 0u16;
    let mut cols = Vec::new();
    for (c, w) in wanted {
        if used + w < width {
            used += w + 1;
            cols.push((c, w));
        }
    }
    if width > used + 8 {
        cols.push((Col::Desc, width - used));
    }
    // Back in reading order.
    let order = [
        Col::Id,
        Col::Name,
        Col::Thread,
        Col::Status,
        Col::Outcome,
        Col::Priority,
        Col::Attempt,
        Col::Age,
        Col::Duration,
        Col::Desc,
    ];
    let mut out: Vec<(Col, u16)> = Vec::new();
    for o in order {
        if let Some(c) = cols.iter().find(|(c, _)| *c == o) {
            out.push(*c);
        }
    }
    out
}

fn cell(app: &App, t: &Task, col: Col, width: u16, marked: bool) -> Cell<'static> {
    let th = &app.theme;
    let w = width as usize;
    let now = app.now;
    match col {
        Col::Id => {
            let mark = if marked { "●" } else { " " };
            Cell::from(Line::from(vec![
                Span::styled(mark, th.marked()),
                Span::styled(
                    format!("{:<7}", t.id),
                    if marked { th.marked() } else { th.text() },
                ),
            ]))
        }
        Col::Name => Cell::from(Span::styled(fit(&t.name, w), th.text())),
        Col::Thread => Cell::from(Span::styled(
            fit(t.thread.as_deref().unwrap_or("—"), w),
            th.dim(),
        )),
        Col::Status => Cell::from(Span::styled(
            t.status.as_str(),
            th.status(t.status, t.outcome),
        )),
        Col::Outcome => {
            if let Some(o) = t.outcome {
                // The reason only when it says more than the outcome does.
                let text = match t.outcome_reason.as_ref().map(|r| r.kind.as_str()) {
                    Some("succeeded" | "concluded" | "failed-by-executor" | "canceled") | None => {
                        o.to_string()
                    }
                    Some(kind) => format!("{o} ({kind})"),
                };
                Cell::from(Span::styled(fit(&text, w), th.outcome(o)))
            } else if let Some(b) = t.blocked_by {
                // Why a ready task waits, where its outcome will be.
                Cell::from(Span::styled(fit(b.as_str(), w), th.warn()))
            } else if t.awaiting_conclude {
                Cell::from(Span::styled(fit("awaiting conclude", w), th.warn()))
            } else if let Some(p) = t.progress.filter(|_| t.status == Status::InProgress) {
                let bars = 8usize.min(w.saturating_sub(5));
                let full = ((p * bars as f64).round() as usize).min(bars);
                Cell::from(Span::styled(
                    format!(
                        "{}{} {:>3.0}%",
                        "▰".repeat(full),
                        "▱".repeat(bars - full),
                        p * 100.0
                    ),
                    th.status(Status::InProgress, None),
                ))
            } else if t.status == Status::Waiting
                && let Some(at) = t.execute_at
            {
                Cell::from(Span::styled(
                    fit(&format!("in {}", duration(at.since(now))), w),
                    th.dim(),
                ))
            } else {
                Cell::from("")
            }
        }
        Col::Priority => Cell::from(Span::styled(format!("{:>3}", t.priority), th.text())),
        Col::Attempt => Cell::from(Span::styled(format!("{:>2}", t.attempt), th.dim())),
        Col::Age => Cell::from(Span::styled(age(now.since(t.created_at)), th.dim())),
        Col::Duration => {
            let text = match (t.started_at, t.concluded_at) {
                (Some(s), Some(e)) => duration(e.since(s)),
                (Some(s), None) if t.status == Status::InProgress => duration(now.since(s)),
                _ => String::new(),
            };
            Cell::from(Span::styled(text, th.dim()))
        }
        Col::Desc => Cell::from(Span::styled(
            fit(t.desc.as_deref().unwrap_or(""), w),
            th.dim(),
        )),
    }
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    let s = &app.tasks;
    let focused = app.focus == Pane::Tasks;
    let arrow = if s.order == SortOrder::Asc {
        "↑"
    } else {
        "↓"
    };
    let mut title = vec![
        Span::styled("Tasks", th.title()),
        Span::styled(format!(" {}", thousands(s.total)), th.accent()),
    ];
    if !s.filter.is_empty() {
        title.push(Span::styled("  filter ", th.dim()));
        title.push(Span::styled(s.filter.clone(), th.accent()));
    }
    title.push(Span::styled(
        format!("  sort {} {arrow}", s.sort.as_str()),
        th.dim(),
    ));
    if !s.marks.is_empty() {
        title.push(Span::styled(
            format!("  marked {}", thousands(s.marks.count())),
            th.marked(),
        ));
    }
    let block = pane(app, title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    if let Some(e) = &s.error {
        // The filter or query the engine refused: say so where the rows would be.
        frame.render_widget(
            Paragraph::new(vec![Line::from(Span::styled(e.clone(), th.error()))])
                .wrap(ratatui::widgets::Wrap { trim: true }),
            Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1),
        );
    }
    let cols = columns(inner.width);
    let header = Row::new(cols.iter().map(|(c, _)| {
        let mut text = c.title().to_string();
        if c.sort_key() == Some(s.sort) {
            text.push_str(arrow);
        }
        let style = if c.sort_key() == Some(s.sort) {
            th.accent()
        } else {
            th.dim()
        };
        Cell::from(Span::styled(text, style))
    }));
    let height = usize::from(inner.height - 1);
    let mut rows = Vec::with_capacity(height);
    if s.error.is_none() {
        for index in s.top..(s.top + height).min(s.total as usize) {
            match s.row(index) {
                Some(t) => {
                    let marked = s.marks.contains(t, &s.filter);
                    rows.push(Row::new(
                        cols.iter()
                            .map(|(c, w)| cell(app, t, *c, *w, marked))
                            .collect::<Vec<_>>(),
                    ));
                }
                None => rows.push(Row::new(vec![Cell::from(Span::styled("  …", th.dim()))])),
            }
        }
    }
    let empty = rows.is_empty() && s.error.is_none();
    let widths: Vec<Constraint> = cols.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(if focused {
            th.selected()
        } else {
            th.selected()
                .remove_modifier(ratatui::style::Modifier::BOLD)
        });
    let mut state = TableState::default();
    if s.total > 0 && s.error.is_none() {
        state.select(Some(s.selected.saturating_sub(s.top)));
    }
    frame.render_stateful_widget(table, inner, &mut state);
    if empty {
        let msg = if !s.loaded {
            "loading…".to_string()
        } else if s.filter.is_empty() {
            "no tasks yet: a adds one".to_string()
        } else {
            format!("no task matches `{}` (Esc clears the filter)", s.filter)
        };
        frame.render_widget(
            Paragraph::new(Span::styled(msg, th.dim())),
            Rect::new(inner.x + 1, inner.y + 1, inner.width.saturating_sub(1), 1),
        );
    }
}
