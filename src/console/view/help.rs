//! The help overlay: the keys of the current view, generated from the keymap the input
//! handler uses, and the `:` commands.

use super::popup;
use crate::console::keymap::Context;
use crate::console::state::App;
use crate::console::state::cmdline::COMMANDS;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn render(app: &App, frame: &mut Frame<'_>, context: Context, scroll: usize) {
    let th = &app.theme;
    let keys = app.keymap.help(context, app.read_only);
    let key_w = keys
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4);
    let mut lines = vec![Line::from(Span::styled(
        format!("Keys in the {} view", context.label()),
        th.title(),
    ))];
    for (k, help) in &keys {
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<key_w$}  "), th.accent()),
            Span::styled(*help, th.text()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("In dialogs", th.title())));
    for (k, help) in [
        ("y / n", "confirm / refuse (Enter and Esc refuse)"),
        ("!", "toggle ignore"),
        ("Tab", "next field, completes names"),
        ("Enter", "submit the form or command"),
        ("Esc", "close"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<key_w$}  "), th.accent()),
            Span::styled(help, th.text()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Commands (: opens the command line; ↑↓ history, Tab completes)",
        th.title(),
    )));
    let mutating = [
        "cancel", "clean", "destroy", "run", "rerun", "conclude", "pause", "resume", "workload",
    ];
    for (name, usage) in COMMANDS {
        if app.read_only && mutating.contains(name) {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled("  :", th.dim()),
            Span::styled(*usage, th.text()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Filter: status:failed thread:imports name:sum ref:42 parent:7 key:K conf.a.b:v age>10m text; !term negates",
        th.dim(),
    )));
    let h = (lines.len() as u16 + 2).min(frame.area().height.saturating_sub(4));
    let area = popup(frame, 92, h);
    let title = Line::from(vec![
        Span::styled(" Help ", th.title()),
        Span::styled("· ↑↓ scroll · Esc closes ", th.dim()),
    ]);
    let max_scroll = lines
        .len()
        .saturating_sub(usize::from(area.height.saturating_sub(2)));
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(max_scroll) as u16, 0))
            .block(
                Block::bordered()
                    .title(title)
                    .border_style(th.border(true))
                    .style(th.base()),
            ),
        area,
    );
}
