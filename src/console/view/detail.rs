//! The task detail view: fields, attempts and JSON on the left, the task's log on the
//! right (below, on narrow screens).

use super::pane;
use crate::console::state::App;
use crate::console::state::detail::{DLine, Tone};
use crate::console::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// From this width the log sits beside the fields.
pub fn side_by_side(width: u16) -> bool {
    width >= 140
}

fn style(th: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Heading => th.title(),
        Tone::Label => th.dim(),
        Tone::Text => th.text(),
        Tone::Dim => th.dim(),
        Tone::Status(s, o) => th.status(s, o),
        Tone::Error => th.error(),
        Tone::Warn => th.warn(),
        Tone::Json => th.accent().remove_modifier(ratatui::style::Modifier::BOLD),
    }
}

fn to_line<'a>(th: &Theme, l: &'a DLine) -> Line<'a> {
    Line::from(
        l.iter()
            .map(|(tone, text)| Span::styled(text.as_str(), style(th, *tone)))
            .collect::<Vec<_>>(),
    )
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    let Some(d) = &app.detail else {
        return;
    };
    let k = |c| app.keymap.hint(c);
    use crate::console::keymap::Command as C;
    let mut title = vec![
        Span::styled(format!("Task #{}", d.id), th.title()),
        Span::styled(format!("  {} back", k(C::Close)), th.dim()),
    ];
    if !app.read_only {
        title.push(Span::styled(
            format!(
                "  {} run  {} cancel  {} clean  {} destroy  {} pause",
                k(C::Run),
                k(C::Cancel),
                k(C::Clean),
                k(C::Destroy),
                k(C::Pause)
            ),
            th.dim(),
        ));
    }
    let block = pane(app, title, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let wrap = app.log.wrap;
    if side_by_side(area.width) {
        let left_w = inner.width * 11 / 20;
        let left = Rect::new(inner.x, inner.y, left_w, inner.height);
        let right = Rect::new(
            inner.x + left_w + 1,
            inner.y,
            inner.width - left_w - 1,
            inner.height,
        );
        let lines: Vec<Line> = d.info.iter().map(|l| to_line(th, l)).collect();
        frame.render_widget(Paragraph::new(lines).scroll((d.scroll as u16, 0)), left);
        for y in inner.y..inner.y + inner.height {
            frame.render_widget(
                Paragraph::new(Span::styled("│", th.border(false))),
                Rect::new(inner.x + left_w, y, 1, 1),
            );
        }
        let mut log: Vec<Line> = vec![Line::from(Span::styled(
            format!("Log ({} entries, newest last)", d.log.len()),
            th.title(),
        ))];
        let room = usize::from(right.height.saturating_sub(1));
        let skip = d.log_lines.len().saturating_sub(room);
        log.extend(d.log_lines.iter().skip(skip).map(|l| to_line(th, l)));
        let mut p = Paragraph::new(log);
        if wrap {
            p = p.wrap(Wrap { trim: false });
        }
        frame.render_widget(p, right);
    } else {
        let mut lines: Vec<Line> = d.info.iter().map(|l| to_line(th, l)).collect();
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("Log ({} entries)", d.log.len()),
            th.title(),
        )));
        lines.extend(d.log_lines.iter().map(|l| to_line(th, l)));
        let mut p = Paragraph::new(lines).scroll((d.scroll as u16, 0));
        if wrap {
            p = p.wrap(Wrap { trim: false });
        }
        frame.render_widget(p, inner);
    }
}
