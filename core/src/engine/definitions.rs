//! Registering, changing and deleting definitions (SPEC §4).

use super::index::DefIndex;
use super::{DefState, Engine};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Definition, EventKind};
use crate::schema::Schema;
use crate::time::Millis;
use std::sync::Arc;

impl Engine {
    /// Registers or replaces a definition. A change applies from then on: the schema and
    /// capacity to later runs, timeouts, retries and limits to later claims and attempts.
    pub fn put_definition(&mut self, def: Definition, now: Millis) -> Result<Definition> {
        let compiled = check_definition(&def)?;
        let name: Arc<str> = self
            .defs
            .get_key_value(def.name.as_str())
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| Arc::from(def.name.as_str()));
        let regroup = self.defs.get(&name).is_none_or(|old| {
            old.def.concurrency_limit != def.concurrency_limit
                || old.def.concurrency_path != def.concurrency_path
        });
        let old = self.defs.remove(&name);
        let last_polled = old.as_ref().and_then(|d| d.last_polled);
        let index = match old {
            Some(old) if !regroup => old.index,
            _ => DefIndex::new(def.concurrency_limit),
        };
        let (params, result, error) = compiled;
        self.defs.insert(
            name.clone(),
            DefState {
                index,
                def: def.clone(),
                name: name.clone(),
                params,
                result,
                error,
                last_polled,
            },
        );
        if regroup {
            self.rebuild_index(&name);
            self.serve_parked(now);
        }
        self.emit(
            now,
            EventKind::DefinitionUpdated {
                name: def.name.clone(),
                definition: Some(Box::new(def.clone())),
            },
        );
        Ok(def)
    }

    /// Rebuilds a definition's claim index from its tasks (after its grouping changed).
    fn rebuild_index(&mut self, name: &Arc<str>) {
        let ids: Vec<_> = self
            .tasks
            .iter()
            .filter(|r| &r.task.name == name)
            .map(|r| r.id())
            .collect();
        let mut index = DefIndex::new(self.defs.get(name).and_then(|d| d.def.concurrency_limit));
        for id in ids {
            let group = self
                .tasks
                .get(id)
                .map(|r| self.group_of(name, &r.task))
                .unwrap_or(None);
            let Some(rec) = self.tasks.get_mut(id) else {
                continue;
            };
            rec.group = group.clone();
            let offered = match &rec.task.thread {
                Some(th) => self.threads.get(th).is_some_and(|t| t.offered == Some(id)),
                None => rec.is_claimable_status(),
            };
            if rec.holds_slot() {
                index.slot_delta(&group, true);
            }
            if offered {
                index.add(&group, rec.rank());
            }
        }
        if let Some(d) = self.defs.get_mut(name) {
            d.index = index;
        }
        self.offers_changed = true;
    }

    /// Deletes a definition that has no task left to run.
    pub fn delete_definition(&mut self, name: &str, now: Millis) -> Result<Definition> {
        let Some(state) = self.defs.get(name) else {
            return Err(Error::new(
                ErrorCode::DefinitionNotFound,
                format!("no definition named `{name}`; list them with GET /api/v1/definitions"),
            ));
        };
        let live = self.by_def.get(name).map_or(0, |t| t.live());
        if live > 0 {
            return Err(Error::new(
                ErrorCode::DefinitionInUse,
                format!(
                    "definition `{name}` still has {live} task(s) not concluded; cancel or let them finish first"
                ),
            ));
        }
        let def = state.def.clone();
        self.defs.remove(name);
        self.emit(
            now,
            EventKind::DefinitionUpdated {
                name: name.to_string(),
                definition: None,
            },
        );
        Ok(def)
    }

    pub fn definitions(&self) -> Vec<Definition> {
        let mut defs: Vec<Definition> = self.defs.values().map(|d| d.def.clone()).collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        defs
    }

    pub fn definition(&self, name: &str) -> Option<&Definition> {
        self.defs.get(name).map(|d| &d.def)
    }
}

type Compiled = (Option<Schema>, Option<Schema>, Option<Schema>);

/// Checks a definition and compiles its schemas.
fn check_definition(def: &Definition) -> Result<Compiled> {
    let invalid = |m: String| Error::new(ErrorCode::InvalidDefinition, m);
    crate::model::validate_thread_name(&def.name).map_err(|m| {
        Error::new(
            ErrorCode::InvalidName,
            m.replace("thread name", "definition name"),
        )
    })?;
    if def.concurrency_limit == Some(0) {
        return Err(invalid(format!(
            "definition `{}`: concurrency_limit 0 would never run a task; use null for no limit",
            def.name
        )));
    }
    if def.concurrency_path.as_ref().is_some_and(|p| p.is_empty()) {
        return Err(invalid(format!(
            "definition `{}`: concurrency_path is empty; give keys into the task, e.g. [\"conf\",\"resource_type\"]",
            def.name
        )));
    }
    if !def.retry_backoff.is_finite() || def.retry_backoff <= 0.0 {
        return Err(invalid(format!(
            "definition `{}`: retry_backoff {} must be a positive number (1.0 means no growth)",
            def.name, def.retry_backoff
        )));
    }
    let compile = |field: &str, schema: &Option<serde_json::Value>| -> Result<Option<Schema>> {
        schema
            .as_ref()
            .map(|s| {
                Schema::compile(s).map_err(|e| {
                    invalid(format!(
                        "definition `{}`: {field} is not a valid JSON Schema: {e}",
                        def.name
                    ))
                })
            })
            .transpose()
    };
    Ok((
        compile("params_schema", &def.params_schema)?,
        compile("result_schema", &def.result_schema)?,
        compile("error_schema", &def.error_schema)?,
    ))
}
