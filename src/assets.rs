//! The assets built into the binary, so it works from any directory.

use taskyard_core::model::Definition;

/// The example definitions of `assets/definitions/`.
const DEFINITIONS: &[(&str, &str)] = &[
    ("echo.json", include_str!("../assets/definitions/echo.json")),
    ("fail.json", include_str!("../assets/definitions/fail.json")),
    (
        "flaky.json",
        include_str!("../assets/definitions/flaky.json"),
    ),
    (
        "import.json",
        include_str!("../assets/definitions/import.json"),
    ),
    (
        "spawn.json",
        include_str!("../assets/definitions/spawn.json"),
    ),
    ("sum.json", include_str!("../assets/definitions/sum.json")),
    ("wait.json", include_str!("../assets/definitions/wait.json")),
];

/// The built-in example definitions.
pub fn definitions() -> anyhow::Result<Vec<Definition>> {
    DEFINITIONS
        .iter()
        .map(|(file, text)| {
            serde_json::from_str(text).map_err(|e| {
                anyhow::anyhow!("assets/definitions/{file} is not a valid definition: {e}")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_asset_definition_parses() {
        let defs = super::definitions().unwrap();
        assert_eq!(defs.len(), super::DEFINITIONS.len());
    }
}
