//! Snapshots of every view and modal, at 80×24 and 200×50, in both themes, drawn on
//! ratatui's `TestBackend` (text and styles). The engine runs on a manual clock with a
//! fixed seed, so nothing on screen is volatile: ages, clocks and exec ids are the same
//! every run.

mod console_support;

use console_support::*;
use serde_json::json;
use taskyard::console::theme::Theme;
use taskyard_core::api::Action;
use taskyard_core::model::{Schedule, Status, TaskRef};

/// A console over a queue with something of everything: succeeded, failed, canceled,
/// waiting and held tasks, a locked thread and a paused one.
async fn world(width: u16, height: u16, theme: &str) -> World {
    let theme = Theme::named(theme).unwrap();
    let mut w = World::with(width, height, |o| o.theme = theme).await;
    let mut sums = Vec::new();
    for i in 0..4 {
        let mut s = on_thread("sum", "billing");
        s.conf = Some(json!({"values": [i, 2 * i, 3]}));
        s.desc = Some(format!("invoice total {i}"));
        sums.push(s);
    }
    w.run(sums).await;
    w.clock().advance(1_500);
    let mut import = on_thread("fragile", "imports/patients");
    import.desc = Some("nightly import".into());
    import.conf = Some(json!({"resource_type": "Patient", "batch": 7}));
    import.priority = 5;
    let mut later = on_thread("fragile", "imports/patients");
    later.desc = Some("second batch".into());
    w.run(vec![import, later]).await;
    w.clock().advance(2_000);
    w.fail_next("fragile").await;
    w.clock().advance(3_000);
    let mut delayed = on_thread("job", "mail");
    delayed.execute_at = Some(START.plus_ms(60_000));
    delayed.desc = Some("reminder".into());
    let mut held = spec("job");
    held.hold = true;
    held.desc = Some("held for review".into());
    let ids = w.run(vec![delayed, held, spec("job"), spec("job")]).await;
    w.act(Action::Cancel {
        tasks: vec![TaskRef::Id(ids[3])],
        ignore: false,
    })
    .await;
    w.act(Action::Pause {
        threads: vec!["reports".into()],
        until: None,
    })
    .await;
    let nightly: Schedule = serde_json::from_value(json!({
        "name": "nightly-import",
        "cron": "0 2 * * *",
        "timezone": "Europe/Paris",
        "task": {"name": "fragile", "thread": "imports/patients", "desc": "nightly import"}
    }))
    .unwrap();
    w.engine().put_schedule(nightly).await.unwrap();
    let every: Schedule = serde_json::from_value(json!({
        "name": "heartbeat",
        "cron": "*/5 * * * *",
        "task": {"name": "sum", "conf": {"values": [1]}},
        "overlap": "allow",
        "paused": true
    }))
    .unwrap();
    w.engine().put_schedule(every).await.unwrap();
    w.clock().advance(42_000);
    // The built-in sums finish on their own.
    for _ in 0..100 {
        w.sync().await;
        let done = w
            .all()
            .await
            .iter()
            .filter(|t| &*t.name == "sum")
            .all(|t| t.status == Status::Done);
        if done {
            break;
        }
        tokio::task::yield_now().await;
    }
    w.settle().await;
    w.console.tick().await;
    w
}

fn snap(w: &mut World, name: &str) {
    w.console.render();
    let buffer = w.console.terminal.backend().buffer().clone();
    let app = &w.console.app;
    let id = format!("{name}_{}x{}_{}", app.width, app.height, app.theme.name);
    insta::assert_snapshot!(id, format!("{buffer:?}"));
}

async fn every_view(width: u16, height: u16, theme: &str) {
    let mut w = world(width, height, theme).await;
    snap(&mut w, "main");

    w.keys(&["2"]).await;
    snap(&mut w, "threads");

    w.keys(&["3", "/"]).await;
    w.typed("imports").await;
    w.keys(&["enter"]).await;
    snap(&mut w, "log_search");

    w.keys(&["1", "g", "j"]).await;
    w.keys(&["enter"]).await;
    w.settle().await;
    snap(&mut w, "detail");
    w.keys(&["esc"]).await;

    w.keys(&["4"]).await;
    snap(&mut w, "timeline");
    w.keys(&["t"]).await;

    w.keys(&["5"]).await;
    snap(&mut w, "schedules");
    w.keys(&["q"]).await;

    w.keys(&["?"]).await;
    snap(&mut w, "help");
    w.keys(&["esc"]).await;

    w.keys(&["g", "space", "space", "c"]).await;
    snap(&mut w, "confirm");
    w.keys(&["!"]).await;
    snap(&mut w, "confirm_ignore");
    w.keys(&["n", "esc"]).await;

    w.keys(&["a"]).await;
    w.typed("su").await;
    w.keys(&["tab", "tab", "ctrl-u"]).await;
    w.typed("{\"values\": [1,").await;
    snap(&mut w, "add_form");
    w.keys(&["esc"]).await;

    w.keys(&[":"]).await;
    w.typed("pause ").await;
    w.keys(&["tab"]).await;
    snap(&mut w, "command_line");
    w.keys(&["esc"]).await;

    w.keys(&["/"]).await;
    w.typed("status:ready thread:imports/patients").await;
    snap(&mut w, "filter");
    w.typed(" status:bogus").await;
    snap(&mut w, "filter_error");
    w.keys(&["esc"]).await;
}

#[tokio::test]
async fn every_view_80x24_dark() {
    every_view(80, 24, "dark").await;
}

#[tokio::test]
async fn every_view_80x24_light() {
    every_view(80, 24, "light").await;
}

#[tokio::test]
async fn every_view_200x50_dark() {
    every_view(200, 50, "dark").await;
}

#[tokio::test]
async fn every_view_200x50_light() {
    every_view(200, 50, "light").await;
}

#[tokio::test]
async fn too_small_says_so() {
    for theme in ["dark", "light"] {
        let mut w = world(80, 24, theme).await;
        w.console.resize(79, 23);
        let text = w.console.render();
        assert!(text.contains("needs at least 80×24"), "{text}");
        snap(&mut w, "too_small");
    }
}

#[tokio::test]
async fn no_color_uses_no_colour() {
    let mut w = World::with(100, 30, |o| {
        o.theme = Theme::named("dark").unwrap().monochrome()
    })
    .await;
    w.run(vec![spec("job")]).await;
    w.settle().await;
    w.console.render();
    let buffer = w.console.terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
}
