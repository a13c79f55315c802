//! The threads pane: state (running ▶, paused ⏸, locked ⛔), running task, queued count,
//! paused or locked since.

use super::{pane, table_pane};
use crate::console::format::{age, fit, thousands};
use crate::console::state::threads::ThreadsState;
use crate::console::state::{App, Pane};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};
use taskyard_core::model::{Outcome, Status};

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let th = &app.theme;
    let s = &app.threads;
    let focused = app.focus == Pane::Threads;
    let paused = s.rows.iter().filter(|r| r.paused).count();
    let locked = s.rows.iter().filter(|r| r.locked_by.is_some()).count();
    let mut title = vec![
        Span::styled("Threads", th.title()),
        Span::styled(format!(" {}", s.rows.len()), th.accent()),
    ];
    if locked > 0 {
        title.push(Span::styled(format!("  ⛔ {locked} locked"), th.error()));
    }
    if paused > locked {
        title.push(Span::styled(
            format!("  ⏸ {} paused", paused - locked),
            th.warn(),
        ));
    }
    let block = pane(app, title, focused);
    let Some(inner) = table_pane(
        app,
        frame,
        area,
        block,
        s.rows.len(),
        "no threads: tasks with a thread run one at a time in it",
    ) else {
        return;
    };
    let since_w = 20u16;
    let name_w = inner.width.saturating_sub(2 + 9 + 6 + since_w + 4).max(8);
    let header = Row::new(vec![
        Cell::from(""),
        Cell::from(Span::styled("THREAD", th.dim())),
        Cell::from(Span::styled("RUNNING", th.dim())),
        Cell::from(Span::styled("QUEUED", th.dim())),
        Cell::from(Span::styled("SINCE", th.dim())),
    ]);
    let height = usize::from(inner.height - 1);
    let rows: Vec<Row> = s
        .rows
        .iter()
        .skip(s.top)
        .take(height)
        .map(|r| {
            let (icon, icon_style) = if r.locked_by.is_some() {
                ("⛔", th.error())
            } else if r.paused {
                ("⏸ ", th.warn())
            } else if r.current.is_some() {
                ("▶ ", th.status(Status::InProgress, None))
            } else {
                ("· ", th.dim())
            };
            let since = match (r.locked_at, r.paused_at) {
                (Some(at), _) => format!(
                    "locked {} #{}",
                    age(app.now.since(at)),
                    r.locked_by.unwrap_or(0)
                ),
                (None, Some(at)) => match &r.paused_until {
                    Some(u) => format!(
                        "paused {} ({} left)",
                        age(app.now.since(at)),
                        age(u.since(app.now))
                    ),
                    None => format!("paused {}", age(app.now.since(at))),
                },
                _ => String::new(),
            };
            let since_style = if r.locked_by.is_some() {
                th.outcome(Outcome::Failed)
            } else {
                th.warn()
            };
            Row::new(vec![
                Cell::from(Span::styled(icon, icon_style)),
                Cell::from(Span::styled(fit(&r.name, name_w as usize), th.text())),
                Cell::from(Span::styled(
                    r.current
                        .map(|c| format!("#{c}"))
                        .unwrap_or_else(|| "—".into()),
                    th.text(),
                )),
                Cell::from(Span::styled(
                    format!("{:>6}", thousands(ThreadsState::queued(r))),
                    th.text(),
                )),
                Cell::from(Span::styled(fit(&since, since_w as usize), since_style)),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(2),
            Constraint::Length(name_w),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(since_w),
        ],
    )
    .header(header)
    .column_spacing(1)
    .row_highlight_style(if focused { th.selected() } else { th.base() });
    let mut state = TableState::default();
    state.select(Some(s.selected.saturating_sub(s.top)));
    frame.render_stateful_widget(table, inner, &mut state);
}
