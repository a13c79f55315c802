//! The add-task form (`a`): name with completion from the definitions, conf JSON checked
//! as you type, thread, priority and delay. What the engine refuses is shown in the form
//! verbatim and the form stays open.

use crate::console::format::parse_delay;
use serde_json::Value;
use taskyard_core::Millis;
use taskyard_core::model::{Definition, TaskSpec};
use tui_input::Input;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Name,
    Conf,
    Thread,
    Priority,
    Delay,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Name,
        Field::Conf,
        Field::Thread,
        Field::Priority,
        Field::Delay,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Conf => "conf",
            Field::Thread => "thread",
            Field::Priority => "priority",
            Field::Delay => "delay",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            Field::Name => "definition; Tab completes",
            Field::Conf => "JSON, e.g. {\"values\":[1,2]}",
            Field::Thread => "optional serial lane",
            Field::Priority => "higher runs first; default 0",
            Field::Delay => "e.g. 10s, 5m; empty: now",
        }
    }
}

#[derive(Clone, Debug)]
pub struct AddForm {
    pub inputs: [Input; 5],
    pub focus: Field,
    /// The engine's refusal, verbatim, or what is wrong with a field.
    pub error: Option<String>,
    /// Submitted; waiting for the engine.
    pub pending: bool,
}

impl AddForm {
    pub fn new(thread: Option<&str>) -> AddForm {
        AddForm {
            inputs: [
                Input::default(),
                Input::new("{}".into()),
                Input::new(thread.unwrap_or_default().to_string()),
                Input::new("0".into()),
                Input::default(),
            ],
            focus: Field::Name,
            error: None,
            pending: false,
        }
    }

    pub fn input(&self, f: Field) -> &Input {
        &self.inputs[f as usize]
    }

    pub fn input_mut(&mut self, f: Field) -> &mut Input {
        &mut self.inputs[f as usize]
    }

    pub fn value(&self, f: Field) -> &str {
        self.input(f).value()
    }

    pub fn next(&mut self, back: bool) {
        let i = self.focus as usize;
        let n = Field::ALL.len();
        self.focus = Field::ALL[if back { (i + n - 1) % n } else { (i + 1) % n }];
    }

    /// Definition names that start with (else contain) what is typed.
    pub fn suggestions<'a>(&self, defs: &'a [Definition]) -> Vec<&'a str> {
        let typed = self.value(Field::Name).trim();
        let mut out: Vec<&str> = defs
            .iter()
            .map(|d| d.name.as_str())
            .filter(|n| n.starts_with(typed))
            .collect();
        if out.is_empty() {
            out = defs
                .iter()
                .map(|d| d.name.as_str())
                .filter(|n| n.contains(typed))
                .collect();
        }
        out
    }

    /// Completes the name to the first suggestion; false when there is nothing to do.
    pub fn complete(&mut self, defs: &[Definition]) -> bool {
        let typed = self.value(Field::Name).trim().to_string();
        if defs.iter().any(|d| d.name == typed) {
            return false;
        }
        let Some(first) = self.suggestions(defs).first().map(|s| s.to_string()) else {
            return false;
        };
        *self.input_mut(Field::Name) = Input::new(first);
        true
    }

    /// Whether conf parses, as the form shows it while typing.
    pub fn conf_check(&self) -> Result<(), String> {
        parse_conf(self.value(Field::Conf)).map(|_| ())
    }

    /// The task to create, or what is wrong with the form.
    pub fn spec(&self, now: Millis) -> Result<TaskSpec, String> {
        let name = self.value(Field::Name).trim();
        if name.is_empty() {
            return Err("give the task's definition name (Tab completes)".into());
        }
        let mut spec = TaskSpec::new(name);
        spec.conf = Some(parse_conf(self.value(Field::Conf))?);
        let thread = self.value(Field::Thread).trim();
        if !thread.is_empty() {
            spec.thread = Some(thread.to_string());
        }
        let prio = self.value(Field::Priority).trim();
        if !prio.is_empty() {
            spec.priority = prio
                .parse()
                .map_err(|_| format!("priority `{prio}` is not a whole number; e.g. 0, 5 or -1"))?;
        }
        let delay = parse_delay(self.value(Field::Delay))?;
        if delay > 0 {
            spec.execute_at = Some(now.plus_ms(delay));
        }
        Ok(spec)
    }
}

fn parse_conf(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(text).map_err(|e| format!("conf is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskyard_core::model::ExecutorKind;

    #[test]
    fn completes_names_and_checks_fields() {
        let defs = vec![
            Definition::new("sum", ExecutorKind::External),
            Definition::new("spawn", ExecutorKind::External),
        ];
        let mut f = AddForm::new(None);
        *f.input_mut(Field::Name) = Input::new("su".into());
        assert!(f.complete(&defs));
        assert_eq!(f.value(Field::Name), "sum");
        assert!(!f.complete(&defs));
        *f.input_mut(Field::Conf) = Input::new("{\"values\":[1,".into());
        assert!(f.conf_check().unwrap_err().contains("not JSON"));
        *f.input_mut(Field::Conf) = Input::new("{\"values\":[1,2]}".into());
        *f.input_mut(Field::Delay) = Input::new("10s".into());
        let spec = f.spec(Millis(1_000)).unwrap();
        assert_eq!(spec.execute_at, Some(Millis(11_000)));
        *f.input_mut(Field::Priority) = Input::new("high".into());
        assert!(f.spec(Millis(0)).unwrap_err().contains("priority"));
    }
}
