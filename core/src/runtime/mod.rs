//! The tokio runtime around the engine.
