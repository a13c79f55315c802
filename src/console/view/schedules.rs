//! The schedules view (`5`): every schedule with its timetable and next firing.

use super::{pane, table_pane};
use crate::console::format::{age, clock, duration, fit};
use crate::console::state::App;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    let s = &app.schedules;
    let title = vec![
        Span::styled("Schedules", th.title()),
        Span::styled(format!(" {}", s.rows.len()), th.accent()),
        Span::styled("  (q back)", th.dim()),
    ];
    let block = pane(app, title, true);
    let Some(inner) = table_pane(
        app,
        frame,
        area,
        block,
        s.rows.len(),
        "no schedules: `taskyard schedule apply FILE` registers one",
    ) else {
        return;
    };
    let header = Row::new(
        [
            "", "SCHEDULE", "CRON", "ZONE", "NEXT", "TASK", "LAST", "NOTE",
        ]
        .map(|h| Cell::from(Span::styled(h, th.dim()))),
    );
    let rows: Vec<Row> = s
        .rows
        .iter()
        .skip(s.top)
        .take(usize::from(inner.height - 1))
        .map(|r| {
            let sc = &r.schedule;
            let (icon, icon_style) = if sc.paused {
                ("⏸ ", th.warn())
            } else {
                ("▶ ", th.ok())
            };
            let next = match (sc.paused, r.next_fire_at) {
                (true, _) => "paused".to_string(),
                (false, Some(at)) => format!(
                    "{} (in {})",
                    clock(at, app.utc_offset_s),
                    duration(at.since(app.now))
                ),
                (false, None) => "—".to_string(),
            };
            let task = match &sc.task.thread {
                Some(t) => format!("{} on {t}", sc.task.name),
                None => sc.task.name.clone(),
            };
            let last = match (r.last_fire_at, r.last_task) {
                (Some(at), Some(id)) => format!("#{id} {} ago", age(app.now.since(at))),
                (Some(at), None) => format!("{} ago", age(app.now.since(at))),
                _ => "never".to_string(),
            };
            let (note, note_style) = match &r.last_error {
                Some(e) => (e.clone(), th.error()),
                None => (format!("overlap {:?}", sc.overlap).to_lowercase(), th.dim()),
            };
            Row::new(vec![
                Cell::from(Span::styled(icon, icon_style)),
                Cell::from(Span::styled(fit(&sc.name, 24), th.text())),
                Cell::from(Span::styled(fit(&sc.cron, 16), th.accent())),
                Cell::from(Span::styled(fit(&sc.timezone, 14), th.dim())),
                Cell::from(Span::styled(next, th.text())),
                Cell::from(Span::styled(fit(&task, 24), th.text())),
                Cell::from(Span::styled(last, th.dim())),
                Cell::from(Span::styled(note, note_style)),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(2),
            Constraint::Length(24),
            Constraint::Length(16),
            Constraint::Length(14),
            Constraint::Length(20),
            Constraint::Length(24),
            Constraint::Length(14),
            Constraint::Min(10),
        ],
    )
    .header(header)
    .column_spacing(1);
    frame.render_widget(table, inner);
}
