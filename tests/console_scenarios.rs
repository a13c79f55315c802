//! Operator scenarios: key sequences fed to the console, asserting what the engine ends
//! up with. Each runs twice: over a local engine on a manual clock (`local::`) and over a
//! real `taskyard serve` through HTTP (`remote::`).

mod console_support;

use console_support::*;
use serde_json::json;
use taskyard::console::layout::Screen;
use taskyard::console::state::Modal;
use taskyard_core::api::{Action, SortKey};
use taskyard_core::model::{Outcome, RunItem, Status, TaskRef};

async fn pause_resume_and_continue_a_locked_thread(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let [first, second] = w
        .run(vec![
            on_thread("fragile", "imports"),
            on_thread("fragile", "imports"),
        ])
        .await[..]
    else {
        panic!()
    };
    assert_eq!(w.fail_next("fragile").await, first);
    assert_eq!(w.thread("imports").await.locked_by, Some(first));
    w.settle().await;

    // The threads pane, the only thread, P: resume with continue.
    w.keys(&["2", "P"]).await;
    let th = w.thread("imports").await;
    assert!(!th.paused && th.locked_by.is_none(), "{th:?}");
    assert_eq!(
        w.task(first).await.unwrap().status,
        Status::Ready,
        "continued"
    );
    assert!(w.status().contains("continuing #"), "{}", w.status());

    // It fails again and locks again; p resumes without continuing: it stays failed.
    assert_eq!(w.fail_next("fragile").await, first);
    assert_eq!(w.thread("imports").await.locked_by, Some(first));
    w.settle().await;
    w.keys(&["p"]).await;
    let th = w.thread("imports").await;
    assert!(!th.paused && th.locked_by.is_none());
    assert_eq!(w.task(first).await.unwrap().outcome, Some(Outcome::Failed));
    assert_eq!(w.task(second).await.unwrap().status, Status::Ready);

    // p on a running thread pauses it, p again resumes it.
    w.settle().await;
    w.keys(&["p"]).await;
    assert!(w.thread("imports").await.paused);
    w.settle().await;
    w.keys(&["p"]).await;
    assert!(!w.thread("imports").await.paused);
}

async fn p_on_a_task_acts_on_its_thread(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let id = w.run(vec![on_thread("job", "mail")]).await[0];
    w.select(id).await;
    w.keys(&["p"]).await;
    assert!(w.thread("mail").await.paused);
    assert_eq!(
        w.task(id).await.unwrap().blocked_by.map(|b| b.as_str()),
        Some("thread-paused")
    );
}

async fn cancel_asks_first_and_respects_ignore(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let ids = w.run(vec![spec("job"), spec("job")]).await;
    let (live, done) = (ids[0], ids[1]);
    w.act(Action::Cancel {
        tasks: vec![TaskRef::Id(done)],
        ignore: false,
    })
    .await;

    // Mark both, c: the dialog names them; the default (Enter) is No.
    w.select(done).await;
    w.keys(&["space", "space"]).await;
    assert_eq!(w.console.app.tasks.marks.ids.len(), 2);
    w.keys(&["c"]).await;
    let Some(Modal::Confirm(c)) = &w.console.app.modal else {
        panic!("no dialog")
    };
    assert!(c.question().contains("2 tasks"), "{}", c.question());
    w.keys(&["enter"]).await;
    assert_eq!(w.task(live).await.unwrap().status, Status::Ready);

    // y without ignore: the engine refuses (one is concluded), says why, nothing changes.
    w.keys(&["c", "y"]).await;
    assert_eq!(w.task(live).await.unwrap().status, Status::Ready);
    assert!(w.status().starts_with("task-concluded:"), "{}", w.status());

    // With ! (ignore) it cancels the live one and skips the other.
    w.keys(&["c", "!", "y"]).await;
    let t = w.task(live).await.unwrap();
    assert_eq!(
        (t.status, t.outcome),
        (Status::Done, Some(Outcome::Canceled))
    );
    assert!(w.status().contains("ignored"), "{}", w.status());
    assert!(
        w.console.app.tasks.marks.is_empty(),
        "marks cleared after acting"
    );
}

async fn clean_and_destroy(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let ids = w.run(vec![spec("job"), spec("job"), spec("job")]).await;
    w.act(Action::Cancel {
        tasks: vec![TaskRef::Id(ids[0])],
        ignore: false,
    })
    .await;

    // Clean a live task: refused verbatim.
    w.select(ids[1]).await;
    w.keys(&["x", "y"]).await;
    assert!(w.task(ids[1]).await.is_some());
    assert!(
        w.status().starts_with("task-not-concluded:"),
        "{}",
        w.status()
    );

    // Clean the concluded one: gone. n leaves it alone first.
    w.select(ids[0]).await;
    w.keys(&["x", "n"]).await;
    assert!(w.task(ids[0]).await.is_some());
    w.keys(&["x", "y"]).await;
    assert!(w.task(ids[0]).await.is_none());

    // Destroy a live one: gone whatever its state.
    w.select(ids[2]).await;
    w.keys(&["D", "y"]).await;
    assert!(w.task(ids[2]).await.is_none());
    assert!(w.status().contains("destroyed"), "{}", w.status());
}

async fn run_releases_held_tasks_and_reruns_concluded_ones(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let mut held = spec("job");
    held.hold = true;
    let ids = w.run(vec![held, spec("job")]).await;
    let (held, other) = (ids[0], ids[1]);
    assert_eq!(w.task(held).await.unwrap().status, Status::Created);

    w.select(held).await;
    w.keys(&["r"]).await;
    assert_eq!(w.task(held).await.unwrap().status, Status::Ready);

    // A live task: the engine says task-active, verbatim.
    w.keys(&["r"]).await;
    assert!(w.status().starts_with("task-active:"), "{}", w.status());

    w.act(Action::Cancel {
        tasks: vec![TaskRef::Id(other)],
        ignore: false,
    })
    .await;
    w.select(other).await;
    w.keys(&["r"]).await;
    let rerun = w
        .all()
        .await
        .into_iter()
        .find(|t| t.rerun_of == Some(other))
        .expect("a re-run");
    assert_eq!(rerun.status, Status::Ready);
}

async fn the_add_task_form_creates_what_it_shows(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    w.keys(&["a"]).await;
    assert!(matches!(w.console.app.modal, Some(Modal::Form(_))));
    w.typed("jo").await;
    // Tab completes the name, Tab again moves to conf.
    w.keys(&["tab", "tab", "ctrl-u"]).await;
    w.typed(r#"{"x": 1}"#).await;
    w.keys(&["tab"]).await;
    w.typed("nightly").await;
    w.keys(&["tab", "ctrl-u"]).await;
    w.typed("5").await;
    w.keys(&["tab"]).await;
    w.typed("10s").await;
    w.keys(&["enter"]).await;
    assert!(
        w.console.app.modal.is_none(),
        "the form closes when the task exists"
    );
    let t = w.all().await.pop().expect("a task");
    assert_eq!(&*t.name, "job");
    assert_eq!(t.conf, json!({"x": 1}));
    assert_eq!(t.thread.as_deref(), Some("nightly"));
    assert_eq!(t.priority, 5);
    assert_eq!(t.status, Status::Waiting);
    if !w.is_remote() {
        assert_eq!(t.execute_at, Some(START.plus_ms(10_000)));
    }
}

async fn the_form_shows_the_engines_refusal_and_stays_open(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    w.keys(&["a"]).await;
    w.typed("nope").await;
    w.keys(&["enter"]).await;
    let Some(Modal::Form(f)) = &w.console.app.modal else {
        panic!("the form closed")
    };
    let err = f.error.clone().unwrap_or_default();
    assert!(err.starts_with("unknown-definition:"), "{err}");
    assert!(w.all().await.is_empty());

    // A conf that is not JSON never reaches the engine.
    w.keys(&["ctrl-u"]).await;
    w.typed("job").await;
    w.keys(&["tab", "ctrl-u"]).await;
    w.typed("{oops").await;
    w.keys(&["enter"]).await;
    let Some(Modal::Form(f)) = &w.console.app.modal else {
        panic!("the form closed")
    };
    assert!(f.error.as_deref().unwrap_or("").contains("not JSON"));
    w.keys(&["esc"]).await;
    assert!(w.console.app.modal.is_none());
    assert!(w.all().await.is_empty());
}

async fn the_command_line_acts_and_remembers(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let id = w.run(vec![on_thread("job", "imports")]).await[0];
    w.settle().await;

    w.keys(&[":"]).await;
    w.typed("pause imports").await;
    w.keys(&["enter"]).await;
    assert!(w.thread("imports").await.paused);

    w.keys(&[":"]).await;
    w.typed("resume imports --continue").await;
    w.keys(&["enter"]).await;
    assert!(!w.thread("imports").await.paused);

    w.keys(&[":"]).await;
    w.typed(r#"run sum {"values":[1,2]}"#).await;
    w.keys(&["enter"]).await;
    w.sync().await;
    let sum = w
        .all()
        .await
        .into_iter()
        .find(|t| &*t.name == "sum")
        .unwrap();
    assert_eq!(sum.conf, json!({"values": [1, 2]}));

    w.keys(&[":"]).await;
    w.typed(&format!("cancel {id}")).await;
    w.keys(&["enter"]).await;
    assert_eq!(w.task(id).await.unwrap().outcome, Some(Outcome::Canceled));

    // History: ↑ brings back the last command.
    w.keys(&[":", "up"]).await;
    let Some(Modal::Command(c)) = &w.console.app.modal else {
        panic!()
    };
    assert_eq!(c.input.value(), format!("cancel {id}"));
    w.keys(&["esc"]).await;

    // Completion: `:thr` Tab → threads, which shows the threads pane.
    w.keys(&[":"]).await;
    w.typed("thr").await;
    w.keys(&["tab", "enter"]).await;
    assert_eq!(w.console.app.focus, taskyard::console::state::Pane::Threads);

    // A mistake says what to do and changes nothing.
    w.keys(&[":"]).await;
    w.typed("cancel twelve").await;
    w.keys(&["enter"]).await;
    assert!(w.status().contains("ref:42"), "{}", w.status());

    w.keys(&[":", "q", "enter"]).await;
    assert!(w.console.app.quit);
}

async fn mark_all_matching_the_filter_then_cancel(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let mut specs: Vec<_> = (0..30).map(|_| on_thread("job", "bulk")).collect();
    specs.extend((0..5).map(|_| on_thread("job", "other")));
    w.run(specs).await;
    w.settle().await;

    w.keys(&["/"]).await;
    w.typed("thread:bulk").await;
    w.keys(&["enter"]).await;
    assert_eq!(w.console.app.tasks.total, 30);
    w.keys(&["ctrl-a", "c"]).await;
    let Some(Modal::Confirm(c)) = &w.console.app.modal else {
        panic!("no dialog")
    };
    assert!(
        c.question().contains("all 30 tasks matching `thread:bulk`"),
        "{}",
        c.question()
    );
    w.keys(&["y"]).await;
    let all = w.all().await;
    let canceled = all
        .iter()
        .filter(|t| t.outcome == Some(Outcome::Canceled))
        .count();
    assert_eq!(canceled, 30);
    assert!(
        all.iter()
            .filter(|t| t.thread.as_deref() == Some("other"))
            .all(|t| t.status == Status::Ready)
    );
}

async fn filter_and_sort_follow_the_engine(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let mut a = on_thread("job", "t1");
    a.priority = 1;
    let mut b = on_thread("job", "t1");
    b.priority = 9;
    let c = on_thread("sum", "t2");
    let ids = w.run(vec![a, b, c]).await;
    w.settle().await;

    w.keys(&["/"]).await;
    w.typed("thread:t1").await;
    let ids_shown: Vec<u64> = w.console.app.tasks.rows.iter().map(|t| t.id).collect();
    assert_eq!(
        ids_shown,
        vec![ids[1], ids[0]],
        "live as you type, newest first"
    );
    w.keys(&["enter"]).await;

    // s: id → priority, keeping the order (descending: highest first); S reverses it.
    w.keys(&["s"]).await;
    assert_eq!(w.console.app.tasks.sort, SortKey::Priority);
    let ids_shown: Vec<u64> = w.console.app.tasks.rows.iter().map(|t| t.id).collect();
    assert_eq!(ids_shown, vec![ids[1], ids[0]], "highest priority first");
    w.keys(&["S"]).await;
    let ids_shown: Vec<u64> = w.console.app.tasks.rows.iter().map(|t| t.id).collect();
    assert_eq!(ids_shown, vec![ids[0], ids[1]], "lowest priority first");

    // A filter that does not parse: the engine's message, rows untouched.
    w.keys(&["/"]).await;
    w.typed(" age>forever").await;
    assert!(
        w.console
            .app
            .tasks
            .error
            .as_deref()
            .unwrap_or("")
            .starts_with("invalid-query:"),
        "{:?}",
        w.console.app.tasks.error
    );
    // Esc restores the filter as it was.
    w.keys(&["esc"]).await;
    assert_eq!(w.console.app.tasks.filter, "thread:t1");
    assert!(w.console.app.tasks.error.is_none());
    // Esc on the table clears the filter.
    w.keys(&["esc"]).await;
    assert_eq!(w.console.app.tasks.total, 3);
}

async fn read_only_refuses_every_mutation(remote: bool) {
    let mut w = World::of(remote, |o| o.read_only = true).await;
    let id = w.run(vec![on_thread("job", "imports")]).await[0];
    w.select(id).await;
    for k in ["c", "x", "D", "r", "p", "P", "a", "W"] {
        w.keys(&[k]).await;
        assert!(w.console.app.modal.is_none(), "{k} opened something");
        assert!(w.status().starts_with("read-only:"), "{k}: {}", w.status());
    }
    w.keys(&[":"]).await;
    w.typed(&format!("cancel {id}")).await;
    w.keys(&["enter"]).await;
    assert!(w.status().starts_with("read-only:"), "{}", w.status());
    let t = w.task(id).await.unwrap();
    assert_eq!(t.status, Status::Ready);
    assert!(!w.thread("imports").await.paused);
    // Looking still works.
    w.keys(&["enter"]).await;
    assert_eq!(w.console.app.screen, Screen::Detail);
}

async fn detail_shows_the_task_and_acts_on_it(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    let mut s = on_thread("job", "imports");
    s.conf = Some(sample_conf());
    let id = w.run(vec![s]).await[0];
    w.select(id).await;
    w.keys(&["enter"]).await;
    assert_eq!(w.console.app.screen, Screen::Detail);
    let screen = w.console.render();
    assert!(screen.contains(&format!("Task #{id}")), "{screen}");
    assert!(screen.contains("\"values\""), "{screen}");
    assert!(screen.contains("no-executor"), "why blocked: {screen}");
    w.keys(&["c", "y"]).await;
    assert_eq!(w.task(id).await.unwrap().outcome, Some(Outcome::Canceled));
    w.settle().await;
    let screen = w.console.render();
    assert!(screen.contains("done / canceled"), "{screen}");
    w.keys(&["q"]).await;
    assert_eq!(w.console.app.screen, Screen::Main);
    assert!(!w.console.app.quit);
}

async fn the_table_scrolls_a_large_queue_by_windows(remote: bool) {
    let mut w = World::of(remote, |_| {}).await;
    for _ in 0..5 {
        let tasks = (0..1_000)
            .map(|_| RunItem::New(Box::new(spec("job"))))
            .collect();
        w.act(Action::Run {
            tasks,
            ignore: false,
        })
        .await;
    }
    w.settle().await;
    let t = &w.console.app.tasks;
    assert_eq!(t.total, 5_000);
    assert!(t.rows.len() <= 3 * t.height, "only a window is loaded");
    w.keys(&["G"]).await;
    let t = &w.console.app.tasks;
    assert_eq!(t.selected, 4_999);
    assert_eq!(
        t.selected_task().map(|t| t.id),
        Some(1),
        "oldest at the bottom"
    );
    w.keys(&["ctrl-u", "pgup", "g"]).await;
    assert_eq!(
        w.console.app.tasks.selected_task().map(|t| t.id),
        Some(5_000)
    );
}

#[tokio::test]
async fn the_mouse_clicks_rows_and_scrolls() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    use taskyard::console::state::{Msg, Pane};
    let mut w = World::new(200, 50).await;
    let ids = w.run((0..60).map(|_| spec("job")).collect()).await;
    w.settle().await;
    let r = w.console.app.regions();
    let mouse = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // The fourth data row of the table: border, header, then rows.
    w.console
        .send(mouse(
            MouseEventKind::Down(MouseButton::Left),
            r.tasks.x + 5,
            r.tasks.y + 2 + 3,
        ))
        .await;
    assert_eq!(w.console.app.focus, Pane::Tasks);
    assert_eq!(
        w.console.app.tasks.selected_task().map(|t| t.id),
        Some(ids[59 - 3])
    );
    w.console
        .send(mouse(
            MouseEventKind::ScrollDown,
            r.tasks.x + 5,
            r.tasks.y + 5,
        ))
        .await;
    assert_eq!(w.console.app.tasks.selected, 6);
    // A click on the log pane focuses it.
    w.console
        .send(mouse(
            MouseEventKind::Down(MouseButton::Left),
            r.log.x + 3,
            r.log.y + 2,
        ))
        .await;
    assert_eq!(w.console.app.focus, Pane::Log);
}

#[tokio::test]
async fn narrowing_the_log_shows_each_entry_of_the_task_once() {
    let mut w = World::new(200, 50).await;
    let ids = w.run(vec![spec("job"), spec("job")]).await;
    w.act(Action::Cancel {
        tasks: vec![TaskRef::Id(ids[0])],
        ignore: false,
    })
    .await;
    // The console saw the events live, then narrows: stored and live entries meet.
    w.select(ids[0]).await;
    w.keys(&["L"]).await;
    let shown: Vec<(u64, String)> = w
        .console
        .app
        .log
        .shown()
        .iter()
        .map(|(_, l)| (l.id, l.text.clone()))
        .collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|(id, _)| *id == ids[0]));
    assert!(shown[1].1.contains("canceled"), "{shown:?}");
}

/// Each scenario as a test over the local engine and one over a real server.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(#[tokio::test]
            async fn $name() {
                super::$name(false).await
            })*
        }
        mod remote {
            $(#[tokio::test]
            async fn $name() {
                super::$name(true).await
            })*
        }
    };
}

both!(
    pause_resume_and_continue_a_locked_thread,
    p_on_a_task_acts_on_its_thread,
    cancel_asks_first_and_respects_ignore,
    clean_and_destroy,
    run_releases_held_tasks_and_reruns_concluded_ones,
    the_add_task_form_creates_what_it_shows,
    the_form_shows_the_engines_refusal_and_stays_open,
    the_command_line_acts_and_remembers,
    mark_all_matching_the_filter_then_cancel,
    filter_and_sort_follow_the_engine,
    read_only_refuses_every_mutation,
    detail_shows_the_task_and_acts_on_it,
    the_table_scrolls_a_large_queue_by_windows,
);
