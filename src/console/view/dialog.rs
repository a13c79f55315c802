//! The y/N confirmation dialog.

use super::popup;
use crate::console::state::App;
use crate::console::state::dialog::Confirm;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn render(app: &App, frame: &mut Frame<'_>, c: &Confirm) {
    let th = &app.theme;
    let mut lines = vec![
        Line::from(Span::styled(c.question(), th.title())),
        Line::from(""),
    ];
    if let Some(help) = c.kind.ignore_help() {
        lines.push(Line::from(vec![
            Span::styled("ignore ", th.dim()),
            if c.ignore {
                Span::styled("on ", th.warn())
            } else {
                Span::styled("off", th.text())
            },
            Span::styled(format!("   ! toggles: {help}"), th.dim()),
        ]));
        lines.push(Line::from(""));
    }
    lines.push(Line::from(vec![
        Span::styled(" y ", th.selected()),
        Span::styled(format!(" {}    ", c.kind.verb().to_lowercase()), th.text()),
        Span::styled(" N ", th.accent()),
        Span::styled(" keep them (Enter, Esc)", th.text()),
    ]));
    let area = popup(frame, 72, lines.len() as u16 + 4);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(
            Block::bordered()
                .title(Span::styled(format!(" {} ", c.kind.verb()), th.warn()))
                .border_style(th.warn())
                .style(th.base())
                .padding(ratatui::widgets::Padding::horizontal(1)),
        ),
        area,
    );
}
