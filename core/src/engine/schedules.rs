//! Schedules: each firing creates exactly one task, keyed `<schedule>@<fire time>`, so a
//! restart never fires twice, and a firing missed while the engine was down fires once.

use super::Engine;
use super::timers::TimerKind;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{EventKind, Overlap, Schedule, ScheduleRow, Status, TaskId};
use crate::time::Millis;
use chrono::TimeZone;
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ScheduleState {
    pub schedule: Schedule,
    cron: Cron,
    tz: Tz,
    pub next: Option<Millis>,
    pub last_fire: Option<Millis>,
    pub last_task: Option<TaskId>,
    pub last_error: Option<String>,
}

impl ScheduleState {
    fn row(&self) -> ScheduleRow {
        ScheduleRow {
            schedule: self.schedule.clone(),
            next_fire_at: self.next,
            last_fire_at: self.last_fire,
            last_task: self.last_task,
            last_error: self.last_error.clone(),
        }
    }

    /// The first firing strictly after `t`.
    fn next_after(&self, t: Millis) -> Option<Millis> {
        let local = self.tz.timestamp_millis_opt(t.0).single()?;
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|dt| Millis(dt.timestamp_millis()))
    }

    /// The latest firing at or before `t`.
    fn latest_at_or_before(&self, t: Millis) -> Option<Millis> {
        let local = self.tz.timestamp_millis_opt(t.0).single()?;
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|dt| Millis(dt.timestamp_millis()))
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidSchedule, message)
}

/// Checks a schedule's timetable and time zone.
fn compile(s: &Schedule) -> Result<(Cron, Tz)> {
    crate::model::validate_thread_name(&s.name).map_err(|m| {
        Error::new(
            ErrorCode::InvalidName,
            m.replace("thread name", "schedule name"),
        )
    })?;
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(&s.cron)
        .map_err(|e| {
            invalid(format!(
                "schedule `{}`: cron `{}` does not parse ({e}); use five fields (minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\") or @hourly, @daily, @weekly, @monthly",
                s.name, s.cron
            ))
        })?;
    let tz: Tz = s.timezone.parse().map_err(|_| {
        invalid(format!(
            "schedule `{}`: `{}` is not a time zone; use an IANA name such as UTC or Europe/Paris",
            s.name, s.timezone
        ))
    })?;
    Ok((cron, tz))
}

impl Engine {
    /// Registers or replaces a schedule. Its next firing is the first after `now`.
    pub fn put_schedule(&mut self, schedule: Schedule, now: Millis) -> Result<ScheduleRow> {
        let (cron, tz) = compile(&schedule)?;
        self.check_spec(&schedule.task).map_err(|e| {
            Error::new(
                e.code,
                format!(
                    "schedule `{}`: its task is refused: {}",
                    schedule.name, e.message
                ),
            )
        })?;
        let name = schedule.name.clone();
        let old = self.schedules.remove(&name);
        if let Some(old) = &old
            && let Some(at) = old.next
        {
            self.timers
                .remove(at, TimerKind::ScheduleFire(Arc::from(name.as_str())));
        }
        let mut state = ScheduleState {
            schedule,
            cron,
            tz,
            next: None,
            last_fire: old.as_ref().and_then(|o| o.last_fire),
            last_task: old.as_ref().and_then(|o| o.last_task),
            last_error: None,
        };
        state.next = state.next_after(now);
        if let Some(at) = state.next {
            self.timers
                .push(at, TimerKind::ScheduleFire(Arc::from(name.as_str())));
        }
        let row = state.row();
        self.schedules.insert(name.clone(), state);
        self.schedule_changed(&name, now);
        Ok(row)
    }

    pub fn delete_schedule(&mut self, name: &str, now: Millis) -> Result<Schedule> {
        let Some(state) = self.schedules.remove(name) else {
            return Err(Error::new(
                ErrorCode::ScheduleNotFound,
                format!("no schedule named `{name}`; list them with GET /api/v1/schedules"),
            ));
        };
        if let Some(at) = state.next {
            self.timers
                .remove(at, TimerKind::ScheduleFire(Arc::from(name)));
        }
        self.emit(
            now,
            EventKind::ScheduleUpdated {
                name: name.to_string(),
                schedule: None,
            },
        );
        Ok(state.schedule)
    }

    pub fn schedules(&self) -> Vec<ScheduleRow> {
        self.schedules.values().map(ScheduleState::row).collect()
    }

    pub fn schedule(&self, name: &str) -> Option<ScheduleRow> {
        self.schedules.get(name).map(ScheduleState::row)
    }

    /// Restores a stored schedule; a firing missed while the engine was down fires once.
    pub(super) fn restore_schedule(&mut self, row: ScheduleRow, now: Millis) {
        let name = row.schedule.name.clone();
        let Ok((cron, tz)) = compile(&row.schedule) else {
            tracing::warn!(schedule = %name, "a stored schedule no longer parses; skipped");
            return;
        };
        let state = ScheduleState {
            schedule: row.schedule,
            cron,
            tz,
            next: row.next_fire_at,
            last_fire: row.last_fire_at,
            last_task: row.last_task,
            last_error: row.last_error,
        };
        self.schedules.insert(name.clone(), state);
        self.fire_schedule(&name, now);
    }

    /// The timer of a schedule went off (or the engine just started): fire the latest
    /// due firing once, then schedule the next one.
    pub(super) fn fire_schedule(&mut self, name: &str, now: Millis) {
        let Some(state) = self.schedules.get(name) else {
            return;
        };
        // Only a firing at or after the pending one counts: never one from before the
        // schedule existed or already fired. After downtime, the latest missed one fires.
        let due = state
            .latest_at_or_before(now)
            .filter(|d| state.next.is_some_and(|n| *d >= n));
        let paused = state.schedule.paused;
        let overlapping = state.schedule.overlap == Overlap::Skip
            && state.last_task.is_some_and(|t| {
                self.tasks
                    .get(t)
                    .is_some_and(|r| r.task.status != Status::Done)
            });
        let mut changed = false;
        if let Some(due) = due
            && !paused
        {
            if overlapping {
                if let Some(s) = self.schedules.get_mut(name) {
                    s.last_fire = Some(due);
                    s.last_error = Some(format!(
                        "skipped the firing of {due}: task {} is not concluded yet (overlap: skip)",
                        s.last_task.unwrap_or_default()
                    ));
                }
            } else {
                let outcome = self.create_scheduled(name, due, now);
                if let Some(s) = self.schedules.get_mut(name) {
                    s.last_fire = Some(due);
                    match outcome {
                        Ok(id) => {
                            s.last_task = Some(id);
                            s.last_error = None;
                        }
                        Err(e) => s.last_error = Some(e.message),
                    }
                }
            }
            changed = true;
        }
        let key: Arc<str> = Arc::from(name);
        if let Some(s) = self.schedules.get_mut(name) {
            let next = s.next_after(now);
            if s.next != next {
                changed = true;
            }
            s.next = next;
            if let Some(at) = next {
                self.timers.push(at, TimerKind::ScheduleFire(key));
            }
        }
        if changed {
            self.schedule_changed(name, now);
        }
    }

    fn create_scheduled(&mut self, name: &str, due: Millis, now: Millis) -> Result<TaskId> {
        let Some(state) = self.schedules.get(name) else {
            return Err(Error::internal("schedule vanished"));
        };
        let mut spec = state.schedule.task.clone();
        let key = format!("{name}@{}", due.rfc3339());
        if let Some(id) = self
            .keys
            .get(spec.name.as_str())
            .and_then(|k| k.get(key.as_str()))
        {
            return Ok(*id);
        }
        spec.key = Some(key);
        self.check_spec(&spec)?;
        self.check_capacity(&spec.name, 1)?;
        Ok(self.create(spec, &format!("schedule:{name}"), None, now))
    }

    fn schedule_changed(&mut self, name: &str, now: Millis) {
        let row = self.schedules.get(name).map(|s| Box::new(s.row()));
        self.emit(
            now,
            EventKind::ScheduleUpdated {
                name: name.to_string(),
                schedule: row,
            },
        );
    }
}
