//! The bottom line: the filter, search or command being typed; else the last message
//! (an engine error verbatim); else key hints.

use crate::console::keymap::Command as C;
use crate::console::state::{App, Modal, Tone};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::Input;

fn editing(
    app: &App,
    frame: &mut Frame<'_>,
    area: Rect,
    prompt: &str,
    input: &Input,
    after: Vec<Span<'static>>,
) {
    let th = &app.theme;
    let pw = prompt.chars().count() as u16;
    let w = area.width.saturating_sub(pw + 1);
    let scroll = input.visual_scroll(usize::from(w.saturating_sub(1)));
    let mut spans = vec![
        Span::styled(prompt.to_string(), th.accent()),
        Span::styled(
            input.value().chars().skip(scroll).collect::<String>(),
            th.text(),
        ),
        Span::raw("  "),
    ];
    spans.extend(after);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let x = (input.visual_cursor() - scroll) as u16;
    frame.set_cursor_position((area.x + pw + x.min(w), area.y));
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    match &app.modal {
        Some(Modal::Filter { input, .. }) => {
            let after = match &app.tasks.error {
                Some(e) => vec![Span::styled(e.clone(), th.error())],
                None => vec![Span::styled(
                    format!("{} match · Enter keeps · Esc restores", app.tasks.total),
                    th.dim(),
                )],
            };
            editing(app, frame, area, "/", input, after);
            return;
        }
        Some(Modal::Search { input }) => {
            editing(
                app,
                frame,
                area,
                "search log: ",
                input,
                vec![Span::styled("Enter finds · n/N next/previous", th.dim())],
            );
            return;
        }
        Some(Modal::Command(c)) => {
            let after = if c.completions.len() > 1 {
                vec![Span::styled(c.completions.join("  "), th.dim())]
            } else {
                Vec::new()
            };
            editing(app, frame, area, ":", &c.input, after);
            return;
        }
        _ => {}
    }
    if let Some(s) = &app.status {
        let style = match s.tone {
            Tone::Error => th.error(),
            Tone::Info => th.text(),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {}", s.text), style)),
            area,
        );
        return;
    }
    let k = |c| app.keymap.hint(c);
    let mut hints: Vec<(String, &str)> = vec![
        (k(C::Help), "help"),
        (k(C::Filter), "filter"),
        (k(C::CommandLine), "command"),
        (k(C::Open), "detail"),
        (k(C::NextPane), "pane"),
    ];
    if !app.read_only {
        hints.extend([
            (k(C::Add), "add"),
            (k(C::Run), "run"),
            (k(C::Cancel), "cancel"),
            (k(C::Pause), "pause"),
        ]);
        if app.workload.is_some() {
            hints.push((k(C::Workload), "workload"));
        }
    }
    hints.push((k(C::Back), "quit"));
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    let quit = hints.pop();
    let quit_w = quit
        .as_ref()
        .map_or(0, |(k, w)| k.chars().count() + w.len() + 3);
    for (key, what) in hints {
        let w = key.chars().count() + what.len() + 3;
        if used + w + quit_w > usize::from(area.width) {
            break;
        }
        used += w;
        spans.push(Span::styled(key, th.accent()));
        spans.push(Span::styled(format!(" {what}  "), th.dim()));
    }
    if let Some((key, what)) = quit {
        spans.push(Span::styled(key, th.accent()));
        spans.push(Span::styled(format!(" {what}"), th.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
