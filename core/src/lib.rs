//! taskyard-core: the task engine.
//!
//! - [`model`]: tasks, definitions, threads, logs and events as the API shows them;
//! - [`api`]: actions, executor calls and queries with their replies;
//! - [`engine`]: the pure state machine every transition goes through;
//! - [`runtime`]: the thin tokio layer that owns the clock, timers and handlers.

pub mod api;
pub mod engine;
pub mod error;
pub mod filter;
pub mod model;
pub mod runtime;
pub mod schema;
pub mod storage;
pub mod time;

pub use error::{Error, ErrorCode, Result};
pub use time::Millis;
