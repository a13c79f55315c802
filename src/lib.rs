//! The parts of the `taskyard` binary that integration tests and benchmarks drive
//! directly: the console, the data sources it talks to, the sandbox, the config file and the
//! HTTP client.

pub mod assets;
pub mod client;
pub mod config;
pub mod console;
pub mod sandbox;
pub mod source;
