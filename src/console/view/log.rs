//! The live log pane: transitions and log lines, coloured by kind, newest at the bottom.

use super::pane;
use crate::console::format::{clock, clock_ms, fit, thousands};
use crate::console::inbox::{LineKind, LogLine};
use crate::console::state::{App, Pane};
use crate::console::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use taskyard_core::model::Status;

/// One log line; `narrow` leaves out milliseconds and the thread, for small screens.
pub fn line<'a>(
    th: &Theme,
    l: &'a LogLine,
    offset_s: i32,
    matched: bool,
    narrow: bool,
) -> Line<'a> {
    let time = if narrow {
        clock(l.at, offset_s)
    } else {
        clock_ms(l.at, offset_s)
    };
    let mut spans = vec![
        Span::styled(time, th.dim()),
        Span::raw(" "),
        Span::styled(format!("#{:<7}", l.id), th.accent()),
        Span::styled(format!("{:<8} ", fit(&l.name, 8)), th.text()),
    ];
    if !narrow {
        spans.push(Span::styled(
            format!("{:<16} ", fit(l.thread.as_deref().unwrap_or("—"), 16)),
            th.dim(),
        ));
    }
    let mut text_style = th.text();
    match l.kind {
        LineKind::Created => {
            spans.push(Span::styled(
                "created       ",
                th.status(Status::Created, None),
            ));
            text_style = th.dim();
        }
        LineKind::Transition { to, outcome, .. } => {
            let label = match outcome {
                Some(o) => o.to_string(),
                None => to.to_string(),
            };
            spans.push(Span::styled(
                format!("→ {:<12}", label),
                th.status(to, outcome),
            ));
            if outcome.is_some_and(|o| o != taskyard_core::model::Outcome::Succeeded) {
                text_style = th.status(to, outcome);
            }
        }
        LineKind::Log => spans.push(Span::styled("│ log         ", th.dim())),
    }
    if matched {
        text_style = text_style.add_modifier(Modifier::REVERSED);
    }
    spans.push(Span::styled(l.text.as_str(), text_style));
    Line::from(spans)
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    let s = &app.log;
    let focused = app.focus == Pane::Log && app.screen == crate::console::layout::Screen::Main;
    let mut title = vec![Span::styled("Log", th.title())];
    if let Some(id) = s.narrow {
        title.push(Span::styled(format!("  task #{id}"), th.accent()));
    }
    title.push(if s.follow {
        Span::styled("  following", th.ok())
    } else {
        Span::styled("  paused (f follows)", th.warn())
    });
    if s.wrap {
        title.push(Span::styled("  wrap", th.dim()));
    }
    if !s.search.is_empty() {
        title.push(Span::styled(
            format!("  search `{}` (n/N)", s.search),
            th.accent(),
        ));
    }
    if s.dropped > 0 {
        title.push(Span::styled(
            format!("  dropped {}", thousands(s.dropped)),
            th.warn(),
        ));
    }
    if s.resyncs > 0 {
        title.push(Span::styled(
            format!("  resynced {}×", s.resyncs),
            th.warn(),
        ));
    }
    let block = pane(app, title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    let lines = s.shown();
    let Some(bottom) = s.bottom_index() else {
        let msg = if s.narrow.is_some() {
            "no log lines for this task yet"
        } else {
            "waiting for events…"
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, th.dim())), inner);
        return;
    };
    let width = usize::from(inner.width.max(1));
    // Walk up from the bottom line until the pane is full.
    let mut shown: Vec<Line> = Vec::with_capacity(height);
    let mut used = 0usize;
    let mut i = bottom as isize;
    while i >= 0 && used < height {
        let (_, l) = &lines[i as usize];
        let line = line(th, l, app.utc_offset_s, s.matches(l), inner.width < 120);
        used += if s.wrap {
            line.width().div_ceil(width).max(1)
        } else {
            1
        };
        shown.push(line);
        i -= 1;
    }
    shown.reverse();
    let mut p = Paragraph::new(shown);
    if s.wrap {
        p = p.wrap(Wrap { trim: false });
        let over = used.saturating_sub(height) as u16;
        p = p.scroll((over, 0));
    }
    frame.render_widget(p, inner);
}
