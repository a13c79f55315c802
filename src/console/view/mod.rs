//! Drawing: a pure function of the state. Nothing here changes the state or does I/O;
//! each pane is drawn by its own module into the region [`layout`] gives it.
//!
//! [`layout`]: crate::console::layout

pub mod detail;
mod dialog;
mod form;
mod header;
mod help;
mod log;
mod schedules;
mod status;
mod tasks;
mod threads;
mod timeline;

use crate::console::layout::{MIN_HEIGHT, MIN_WIDTH, Screen};
use crate::console::state::{App, Modal};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    frame.render_widget(Block::new().style(app.theme.base()), area);
    // The state's idea of the size, so what is drawn and what a click hits agree.
    let r = crate::console::layout::compute(area.width, area.height, app.screen);
    if r.too_small {
        too_small(app, frame, area);
        return;
    }
    header::render(app, frame, r.header);
    match app.screen {
        Screen::Main => {
            threads::render(app, frame, r.threads);
            tasks::render(app, frame, r.tasks);
            log::render(app, frame, r.log);
        }
        Screen::Timeline => {
            timeline::render(app, frame, r.timeline);
            log::render(app, frame, r.log);
        }
        Screen::Schedules => {
            schedules::render(app, frame, r.schedules);
            log::render(app, frame, r.log);
        }
        Screen::Detail => detail::render(app, frame, r.detail),
    }
    status::render(app, frame, r.status);
    match &app.modal {
        Some(Modal::Help { context, scroll }) => help::render(app, frame, *context, *scroll),
        Some(Modal::Confirm(c)) => dialog::render(app, frame, c),
        Some(Modal::Form(f)) => form::render(app, frame, f),
        // The command line, filter and search edit in the status line.
        _ => {}
    }
}

fn too_small(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let text = vec![
        Line::from(Span::styled("taskyard", t.title())),
        Line::from(""),
        Line::from(format!(
            "This terminal is {}×{}; the console needs at least {MIN_WIDTH}×{MIN_HEIGHT}.",
            area.width, area.height
        )),
        Line::from("Enlarge the window, or press q to quit."),
    ];
    let y = area.height.saturating_sub(text.len() as u16) / 2;
    let r = Rect::new(0, y, area.width, area.height.saturating_sub(y));
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .style(t.text()),
        r,
    );
}

/// A rectangle of at most `w`×`h` centred in `area`, cleared for a popup.
pub(crate) fn popup(frame: &mut Frame<'_>, w: u16, h: u16) -> Rect {
    let area = frame.area();
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, r);
    r
}

/// A bordered pane with a title, focused or not.
/// Draws a table's pane; returns the area for its header and rows, or `None` when there
/// is nothing more to draw (too small, or no rows: then `empty` says why, in the pane).
pub(crate) fn table_pane(
    app: &App,
    frame: &mut Frame<'_>,
    area: Rect,
    block: Block<'_>,
    rows: usize,
    empty: &str,
) -> Option<Rect> {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 {
        return None;
    }
    if rows == 0 {
        frame.render_widget(
            Paragraph::new(Span::styled(empty.to_string(), app.theme.dim())),
            Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(1), 1),
        );
        return None;
    }
    Some(inner)
}

pub(crate) fn pane<'a>(app: &App, title: Vec<Span<'a>>, focused: bool) -> Block<'a> {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    spans.extend(title);
    spans.push(Span::raw(" "));
    Block::bordered()
        .border_style(t.border(focused))
        .title(Line::from(spans))
        .style(t.base())
}
