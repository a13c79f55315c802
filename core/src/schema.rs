//! JSON Schema checks (draft 2020-12) for `conf`, `result` and `error` (SPEC §4).

use jsonschema::Validator;
use serde_json::Value;
use std::sync::Arc;

/// A compiled schema; cheap to clone.
#[derive(Clone)]
pub struct Schema {
    validator: Arc<Validator>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schema")
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.validator, &other.validator)
    }
}

impl Schema {
    /// Compiles a schema; the error says why it is not a valid schema.
    pub fn compile(schema: &Value) -> Result<Schema, String> {
        jsonschema::draft202012::new(schema)
            .map(|validator| Schema {
                validator: Arc::new(validator),
            })
            .map_err(|e| e.to_string())
    }

    /// `Ok` when the value is valid, else every violation as `at <path>: <message>`.
    pub fn check(&self, value: &Value) -> Result<(), Vec<String>> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                let at = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                format!("at {at}: {e}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_and_explains() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "required": ["values"],
            "properties": {"values": {"type": "array", "items": {"type": "number"}}}
        }))
        .unwrap();
        assert!(schema.check(&json!({"values": [1, 2.5]})).is_ok());
        let errors = schema.check(&json!({"values": [1, "x"]})).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("/values/1"), "{errors:?}");
        assert!(schema.check(&json!({})).is_err());
    }

    #[test]
    fn a_broken_schema_is_refused() {
        assert!(Schema::compile(&json!({"type": 12})).is_err());
    }
}
