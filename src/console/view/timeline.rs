//! The timeline: one lane per thread (and per definition for tasks without one), each
//! cell a slice of time coloured by the attempts in it. A failure in a slice wins over a
//! success, so failures are never hidden by zooming out.

use super::pane;
use crate::console::format::{duration, fit};
use crate::console::inbox::AttemptEnd;
use crate::console::state::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use taskyard_core::Millis;
use taskyard_core::model::Outcome;

const LABEL: u16 = 22;

/// What a cell shows, worst first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Failed,
    Retried,
    Canceled,
    Running,
    Succeeded,
    Released,
    Idle,
}

impl Mark {
    fn of(how: Option<AttemptEnd>) -> Mark {
        match how {
            None => Mark::Running,
            Some(AttemptEnd::Succeeded) => Mark::Succeeded,
            Some(AttemptEnd::Failed) => Mark::Failed,
            Some(AttemptEnd::Canceled) => Mark::Canceled,
            Some(AttemptEnd::Retried) => Mark::Retried,
            Some(AttemptEnd::Released) => Mark::Released,
        }
    }

    fn glyph(self, color: bool) -> &'static str {
        match (self, color) {
            (Mark::Idle, _) => "·",
            (Mark::Running, _) => "▒",
            (_, true) => "█",
            (Mark::Succeeded, false) => "█",
            (Mark::Failed, false) => "X",
            (Mark::Retried, false) => "x",
            (Mark::Canceled, false) => "/",
            (Mark::Released, false) => "-",
        }
    }

    fn style(self, app: &App) -> Style {
        let th = &app.theme;
        match self {
            Mark::Idle => th.border(false),
            Mark::Running => th.outcome_color(None),
            Mark::Succeeded => th.outcome(Outcome::Succeeded),
            Mark::Failed => th.outcome(Outcome::Failed),
            Mark::Retried => th.warn(),
            Mark::Canceled => th.outcome(Outcome::Canceled),
            Mark::Released => th.dim(),
        }
    }
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    let tl = &app.timeline;
    let span_ms = tl.span_ms();
    let title = vec![
        Span::styled("Timeline", th.title()),
        Span::styled(
            format!("  last {}  (+/- zoom, t back)", duration(span_ms)),
            th.dim(),
        ),
    ];
    let block = pane(app, title, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width <= LABEL + 4 {
        return;
    }
    let lanes = tl.lanes(app.now);
    let cells = usize::from(inner.width - LABEL - 1);
    let cell_ms = (span_ms / cells as u64).max(1);
    let end = app.now;
    let start = Millis(end.0 - (cell_ms * cells as u64) as i64);
    let rows = usize::from(inner.height - 1);
    if lanes.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no attempts yet: they appear here as tasks start and finish",
                th.dim(),
            )),
            Rect::new(inner.x + 1, inner.y, inner.width - 1, 1),
        );
    }
    // One grid of marks per lane in view, filled from the spans in the window.
    let shown: Vec<_> = lanes.iter().skip(tl.top).take(rows).collect();
    let mut grid = vec![vec![Mark::Idle; cells]; shown.len()];
    for s in tl.spans_between(start, end) {
        let Some(row) = shown.iter().position(|l| ***l == *s.lane) else {
            continue;
        };
        let from = (s.start.0 - start.0).max(0) as u64 / cell_ms;
        let to = (s.end.unwrap_or(end).0 - start.0).max(0) as u64 / cell_ms;
        let mark = Mark::of(s.how);
        let last = (to as usize).min(cells - 1);
        for cell in grid[row].iter_mut().take(last + 1).skip(from as usize) {
            if mark < *cell {
                *cell = mark;
            }
        }
    }
    let mut lines: Vec<Line> = Vec::with_capacity(rows + 1);
    for (lane, marks) in shown.iter().zip(grid) {
        let mut spans = vec![Span::styled(
            format!(
                "{:<w$} ",
                fit(lane, usize::from(LABEL)),
                w = usize::from(LABEL)
            ),
            th.text(),
        )];
        // Runs of the same mark in one span keep the line short.
        let mut run_mark = marks[0];
        let mut run = 0usize;
        for m in marks.iter().copied() {
            if m == run_mark {
                run += 1;
                continue;
            }
            spans.push(Span::styled(
                run_mark.glyph(th.color).repeat(run),
                run_mark.style(app),
            ));
            run_mark = m;
            run = 1;
        }
        spans.push(Span::styled(
            run_mark.glyph(th.color).repeat(run),
            run_mark.style(app),
        ));
        lines.push(Line::from(spans));
    }
    frame.render_widget(
        Paragraph::new(lines),
        Rect::new(inner.x, inner.y, inner.width, inner.height - 1),
    );
    // The axis, and a legend.
    let axis_y = inner.y + inner.height - 1;
    let legend = vec![
        Span::styled(format!("{:<w$} ", "", w = usize::from(LABEL)), th.dim()),
        Span::styled(format!("-{}", duration(span_ms)), th.dim()),
        Span::raw("   "),
        Span::styled(Mark::Succeeded.glyph(th.color), Mark::Succeeded.style(app)),
        Span::styled(" succeeded  ", th.dim()),
        Span::styled(Mark::Failed.glyph(th.color), Mark::Failed.style(app)),
        Span::styled(" failed  ", th.dim()),
        Span::styled(Mark::Retried.glyph(th.color), Mark::Retried.style(app)),
        Span::styled(" retried  ", th.dim()),
        Span::styled(Mark::Canceled.glyph(th.color), Mark::Canceled.style(app)),
        Span::styled(" canceled  ", th.dim()),
        Span::styled(Mark::Running.glyph(th.color), Mark::Running.style(app)),
        Span::styled(" running", th.dim()),
    ];
    frame.render_widget(
        Paragraph::new(Line::from(legend)),
        Rect::new(inner.x, axis_y, inner.width, 1),
    );
    let now_label = "now";
    frame.render_widget(
        Paragraph::new(Span::styled(now_label, th.dim())),
        Rect::new(
            inner.x + inner.width - now_label.len() as u16,
            axis_y,
            now_label.len() as u16,
            1,
        ),
    );
}
