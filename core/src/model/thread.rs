//! A thread's row as the API shows it (SPEC §3).

use crate::model::TaskId;
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct ThreadRow {
    pub name: String,
    pub paused: bool,
    pub paused_at: Option<Millis>,
    pub paused_until: Option<Millis>,
    pub paused_by: Option<String>,
    pub locked_by: Option<TaskId>,
    pub locked_at: Option<Millis>,
    /// The task holding the thread, if any.
    pub current: Option<TaskId>,
    /// Non-concluded tasks of the thread by status (`"in-progress": 1`).
    pub counts: BTreeMap<String, u64>,
}

/// Thread names: 1–128 characters of `A-Z a-z 0-9 . _ : / -`.
pub fn validate_thread_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-');
    if name.is_empty() || name.len() > 128 {
        return Err(format!(
            "thread name `{name}` must be 1 to 128 characters long"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !ok_char(*c)) {
        return Err(format!(
            "thread name `{name}` contains `{bad}`; use only letters, digits and . _ : / -"
        ));
    }
    Ok(())
}
