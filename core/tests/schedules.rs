//! Schedules (SPEC §4): timetables, time zones, overlap, pause, and exactly one task per
//! firing across restarts.

use serde_json::json;
use taskyard_core::engine::{Engine, EngineConfig};
use taskyard_core::model::{
    Definition, EventKind, ExecutorKind, Overlap, Schedule, ScheduleRow, Status, TaskSpec,
};
use taskyard_core::storage::Loaded;
use taskyard_core::{ErrorCode, Millis};

fn at(text: &str) -> Millis {
    Millis::parse(text).unwrap()
}

fn engine(now: Millis) -> Engine {
    let mut e = Engine::new(EngineConfig::default());
    e.put_definition(Definition::new("import", ExecutorKind::External), now)
        .unwrap();
    e
}

fn nightly(cron: &str, tz: &str) -> Schedule {
    Schedule {
        name: "nightly-import".into(),
        cron: cron.into(),
        timezone: tz.into(),
        task: TaskSpec::new("import"),
        overlap: Overlap::Skip,
        paused: false,
    }
}

fn tasks_of(e: &Engine) -> Vec<(String, String)> {
    e.records()
        .map(|r| {
            (
                r.task.key.as_deref().unwrap_or_default().to_string(),
                r.task.requester.to_string(),
            )
        })
        .collect()
}

#[test]
fn next_fire_follows_the_cron_and_the_time_zone() {
    let now = at("2026-01-10T12:00:00Z");
    let mut e = engine(now);
    let row = e.put_schedule(nightly("0 2 * * *", "UTC"), now).unwrap();
    assert_eq!(row.next_fire_at, Some(at("2026-01-11T02:00:00Z")));
    // 02:00 in Paris is 01:00 UTC in winter.
    let row = e
        .put_schedule(nightly("0 2 * * *", "Europe/Paris"), now)
        .unwrap();
    assert_eq!(row.next_fire_at, Some(at("2026-01-11T01:00:00Z")));
    let row = e.put_schedule(nightly("@hourly", "UTC"), now).unwrap();
    assert_eq!(row.next_fire_at, Some(at("2026-01-10T13:00:00Z")));
}

#[test]
fn bad_schedules_are_refused_and_change_nothing() {
    let now = at("2026-01-10T12:00:00Z");
    let mut e = engine(now);
    let before = e.clone();
    let err = e
        .put_schedule(nightly("0 25 * * *", "UTC"), now)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidSchedule);
    assert!(err.message.contains("five fields"), "{}", err.message);
    let err = e
        .put_schedule(nightly("0 2 * * *", "Mars/Olympus"), now)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidSchedule);
    assert!(err.message.contains("IANA"), "{}", err.message);
    let mut s = nightly("0 2 * * *", "UTC");
    s.task = TaskSpec::new("nope");
    assert_eq!(
        e.put_schedule(s, now).unwrap_err().code,
        ErrorCode::UnknownDefinition
    );
    let mut s = nightly("0 2 * * *", "UTC");
    s.name = "bad name!".into();
    assert_eq!(
        e.put_schedule(s, now).unwrap_err().code,
        ErrorCode::InvalidName
    );
    assert!(e == before, "a refused schedule changed the engine");
    assert_eq!(
        e.delete_schedule("nightly-import", now).unwrap_err().code,
        ErrorCode::ScheduleNotFound
    );
}

#[test]
fn each_firing_creates_one_keyed_task_and_overlap_skip_waits_for_it() {
    let now = at("2026-01-10T12:00:00Z");
    let mut e = engine(now);
    e.put_schedule(nightly("0 * * * *", "UTC"), now).unwrap();
    let t1 = at("2026-01-10T13:00:00Z");
    assert_eq!(e.next_deadline(), Some(t1));
    e.tick(t1);
    assert_eq!(
        tasks_of(&e),
        vec![(
            "nightly-import@2026-01-10T13:00:00.000Z".to_string(),
            "schedule:nightly-import".to_string()
        )]
    );
    // The 14:00 firing is skipped while the 13:00 task is not concluded.
    e.tick(at("2026-01-10T14:00:00Z"));
    assert_eq!(tasks_of(&e).len(), 1);
    let row = &e.schedules()[0];
    assert!(
        row.last_error.as_deref().unwrap_or("").contains("overlap"),
        "{row:?}"
    );
    assert_eq!(row.next_fire_at, Some(at("2026-01-10T15:00:00Z")));
    let events = e.drain().events;
    assert!(
        events
            .iter()
            .any(|ev| matches!(&ev.kind, EventKind::ScheduleUpdated { .. }))
    );

    // With overlap allowed, every firing makes a task.
    let mut s = nightly("0 * * * *", "UTC");
    s.overlap = Overlap::Allow;
    e.put_schedule(s, at("2026-01-10T14:30:00Z")).unwrap();
    e.tick(at("2026-01-10T15:00:00Z"));
    assert_eq!(tasks_of(&e).len(), 2);
}

#[test]
fn a_paused_schedule_fires_nothing_and_a_deleted_one_stops() {
    let now = at("2026-01-10T12:00:00Z");
    let mut e = engine(now);
    let mut s = nightly("0 * * * *", "UTC");
    s.paused = true;
    e.put_schedule(s, now).unwrap();
    e.tick(at("2026-01-10T13:00:00Z"));
    assert!(tasks_of(&e).is_empty());
    e.put_schedule(nightly("0 * * * *", "UTC"), at("2026-01-10T13:30:00Z"))
        .unwrap();
    e.delete_schedule("nightly-import", at("2026-01-10T13:40:00Z"))
        .unwrap();
    e.tick(at("2026-01-10T14:00:00Z"));
    assert!(tasks_of(&e).is_empty());
    assert!(e.schedules().is_empty());
}

fn stored(e: &Engine) -> ScheduleRow {
    e.schedules().remove(0)
}

#[test]
fn a_firing_missed_while_down_fires_once_and_never_twice() {
    let now = at("2026-01-10T12:00:00Z");
    let mut e = engine(now);
    e.put_schedule(nightly("0 * * * *", "UTC"), now).unwrap();
    let row = stored(&e);
    let defs = e.definitions();

    // Down from 12:00 to 15:30: 13:00, 14:00 and 15:00 were missed; only 15:00 fires.
    let mut restarted = Engine::new(EngineConfig::default());
    restarted
        .restore(
            Loaded {
                definitions: defs.clone(),
                schedules: vec![row.clone()],
                next_id: 1,
                next_seq: 100,
                ..Loaded::default()
            },
            at("2026-01-10T15:30:00Z"),
        )
        .unwrap();
    assert_eq!(
        tasks_of(&restarted)
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>(),
        vec!["nightly-import@2026-01-10T15:00:00.000Z".to_string()]
    );
    let after = stored(&restarted);
    assert_eq!(after.next_fire_at, Some(at("2026-01-10T16:00:00Z")));

    // Restarting again with that state (task stored, schedule stored) fires nothing new.
    let records: Vec<_> = restarted.records().cloned().collect();
    let mut again = Engine::new(EngineConfig::default());
    again
        .restore(
            Loaded {
                definitions: defs,
                schedules: vec![after],
                next_id: 2,
                next_seq: 200,
                ..Loaded::default()
            }
            .with_records(records),
            at("2026-01-10T15:40:00Z"),
        )
        .unwrap();
    assert_eq!(tasks_of(&again).len(), 1);
    assert_eq!(
        again.records().next().map(|r| r.task.status),
        Some(Status::Ready)
    );
    let _ = json!(null);
}
