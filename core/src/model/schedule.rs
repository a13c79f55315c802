//! Schedules (SPEC §4): tasks created on a recurring timetable.

use crate::model::{TaskId, TaskSpec};
use crate::time::Millis;
use serde::{Deserialize, Serialize};

/// What a firing does while the previous task of the schedule is not concluded.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlap {
    /// Do not fire (the default: a slow nightly job never piles up).
    #[default]
    Skip,
    Allow,
}

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week) or `@hourly`, `@daily`,
    /// `@weekly`, `@monthly`.
    pub cron: String,
    /// An IANA time zone name.
    #[serde(default = "utc")]
    pub timezone: String,
    /// The task each firing creates.
    pub task: TaskSpec,
    #[serde(default)]
    pub overlap: Overlap,
    #[serde(default)]
    pub paused: bool,
}

fn utc() -> String {
    "UTC".to_string()
}

/// A schedule as the API lists it: with its next and last firing.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ScheduleRow {
    #[serde(flatten)]
    pub schedule: Schedule,
    pub next_fire_at: Option<Millis>,
    #[serde(default)]
    pub last_fire_at: Option<Millis>,
    #[serde(default)]
    pub last_task: Option<TaskId>,
    /// Why the last firing created no task, if it did not.
    #[serde(default)]
    pub last_error: Option<String>,
}
