//! The header: mode and connection, workload, READ-ONLY, the clock; counts by status and
//! the completions/s sparkline.

use crate::console::format::{clock, thousands};
use crate::console::state::App;
use crate::source::{Connection, Mode};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use taskyard_core::model::{Outcome, Status};

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    frame.render_widget(Block::new().style(t.header()), area);
    let top = Rect::new(area.x, area.y, area.width, 1);
    let bottom = Rect::new(area.x, area.y + 1, area.width, 1);

    // Line 1: who we are and where the data comes from.
    let mut left = vec![
        Span::styled(" taskyard ", t.title()),
        Span::styled("│ ", t.dim()),
    ];
    match &app.mode {
        Mode::Sandbox => left.push(Span::styled("sandbox", t.accent())),
        Mode::Local => left.push(Span::styled("local engine", t.accent())),
        Mode::Remote(url) => left.push(Span::styled(url.clone(), t.accent())),
    }
    left.push(Span::raw("  "));
    match &app.connection {
        Connection::Connected => left.push(Span::styled("● connected", t.ok())),
        Connection::Reconnecting {
            attempt,
            retry_in_ms,
        } => left.push(Span::styled(
            format!(
                "◌ reconnecting (attempt {attempt}, next in {:.1}s)",
                *retry_in_ms as f64 / 1000.0
            ),
            t.warn(),
        )),
        Connection::Closed => left.push(Span::styled("✕ disconnected", t.error())),
        Connection::Failed(why) => left.push(Span::styled(format!("✕ refused: {why}"), t.error())),
    }
    if let Some(on) = app.workload {
        left.push(Span::styled("  │ ", t.dim()));
        left.push(if on {
            Span::styled("workload ▶ running", t.text())
        } else {
            Span::styled("workload ⏸ stopped", t.warn())
        });
    }
    if app.read_only {
        left.push(Span::styled("  │ ", t.dim()));
        left.push(Span::styled("READ-ONLY", t.warn()));
    }
    let clock_text = format!(" {} ", clock(app.now, app.utc_offset_s));
    let rate = format!(" {:>6}/s", thousands(app.rate()));
    let left_width: u16 = left.iter().map(|s| s.width() as u16).sum();
    let fixed = clock_text.len() as u16 + rate.len() as u16 + 12;
    let spark_w = area.width.saturating_sub(left_width + fixed).min(60);
    frame.render_widget(Paragraph::new(Line::from(left)), top);
    let right_w = spark_w + rate.len() as u16 + clock_text.len() as u16 + 1;
    let right = Rect::new(
        area.x + area.width.saturating_sub(right_w),
        area.y,
        right_w.min(area.width),
        1,
    );
    if spark_w >= 8 {
        let data = app.sparkline(spark_w as usize);
        frame.render_widget(
            Sparkline::default().data(&data).style(t.accent()),
            Rect::new(right.x, right.y, spark_w, 1),
        );
    }
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(rate, t.text()),
            Span::raw(" "),
            Span::styled(clock_text, t.title()),
        ]))
        .alignment(Alignment::Right),
        Rect::new(
            right.x + spark_w,
            right.y,
            right.width.saturating_sub(spark_w),
            1,
        ),
    );

    // Line 2: counts by status, and outcomes of the done ones.
    let short = area.width < 120;
    let count = |s: &str| app.counts.by_status.get(s).copied().unwrap_or(0);
    let mut spans = vec![Span::raw(" ")];
    for s in Status::ALL {
        let label = if short {
            match s {
                Status::Created => "created",
                Status::Waiting => "wait",
                Status::Ready => "ready",
                Status::Requested => "req",
                Status::InProgress => "running",
                Status::Done => "done",
            }
        } else {
            s.as_str()
        };
        let n = count(s.as_str());
        let style = if n > 0 { t.status(s, None) } else { t.dim() };
        spans.push(Span::styled(format!("{label} "), t.dim()));
        spans.push(Span::styled(thousands(n), style));
        spans.push(Span::raw("  "));
    }
    let outcome = |o: Outcome| app.counts.by_outcome.get(o.as_str()).copied().unwrap_or(0);
    spans.push(Span::styled("(", t.dim()));
    for (i, (o, sym)) in [
        (Outcome::Succeeded, "✓"),
        (Outcome::Failed, "✗"),
        (Outcome::Canceled, "⊘"),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            format!("{sym}{}", thousands(outcome(o))),
            t.outcome(o),
        ));
    }
    spans.push(Span::styled(")", t.dim()));
    frame.render_widget(Paragraph::new(Line::from(spans)), bottom);
}
