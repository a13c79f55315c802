//! The add-task form.

use super::popup;
use crate::console::state::App;
use crate::console::state::form::{AddForm, Field};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

const LABEL: u16 = 10;

pub fn render(app: &App, frame: &mut Frame<'_>, f: &AddForm) {
    let th = &app.theme;
    let area = popup(frame, 84, 17);
    let block = Block::bordered()
        .title(Line::from(vec![
            Span::styled(" Add a task ", th.title()),
            Span::styled("· Enter creates · Tab next · Esc cancels ", th.dim()),
        ]))
        .border_style(th.border(true))
        .style(th.base())
        .padding(ratatui::widgets::Padding::horizontal(1));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let input_w = inner.width.saturating_sub(LABEL + 1);
    let mut y = inner.y;
    for field in Field::ALL {
        let focused = f.focus == field;
        let input = f.input(field);
        let scroll = input.visual_scroll(usize::from(input_w.saturating_sub(1)));
        let label_style = if focused { th.accent() } else { th.dim() };
        frame.render_widget(
            Paragraph::new(Span::styled(field.label(), label_style)),
            Rect::new(inner.x, y, LABEL, 1),
        );
        let value_style = if focused { th.selected() } else { th.text() };
        let r = Rect::new(inner.x + LABEL + 1, y, input_w, 1);
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("{:<w$}", input.value(), w = usize::from(input_w)),
                value_style,
            ))
            .scroll((0, scroll as u16)),
            r,
        );
        if focused {
            let x = input.visual_cursor().saturating_sub(scroll) as u16;
            frame.set_cursor_position((r.x + x.min(input_w.saturating_sub(1)), r.y));
        }
        y += 1;
        // A line of help under each field: suggestions, the JSON check, or a hint.
        let note = match field {
            Field::Name => {
                let s = f.suggestions(&app.definitions);
                if s.is_empty() {
                    Line::from(Span::styled("no such definition", th.error()))
                } else {
                    Line::from(Span::styled(s.join("  "), th.dim()))
                }
            }
            Field::Conf => match f.conf_check() {
                Ok(()) => Line::from(Span::styled("✓ valid JSON", th.ok())),
                Err(e) => Line::from(Span::styled(format!("✗ {e}"), th.error())),
            },
            other => Line::from(Span::styled(other.hint(), th.dim())),
        };
        frame.render_widget(
            Paragraph::new(note),
            Rect::new(inner.x + LABEL + 1, y, input_w, 1),
        );
        y += 2;
    }
    let bottom = Rect::new(
        inner.x,
        inner.y + inner.height.saturating_sub(2),
        inner.width,
        2,
    );
    let msg = if f.pending {
        Line::from(Span::styled("creating…", th.dim()))
    } else if let Some(e) = &f.error {
        Line::from(Span::styled(e.clone(), th.error()))
    } else {
        Line::from("")
    };
    frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), bottom);
}
