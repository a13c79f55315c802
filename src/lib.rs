//! The parts of the `taskyard` binary that integration tests and benchmarks drive
//! directly: the console, the data sources it talks to, the sandbox and the config file.

pub mod assets;
pub mod config;
pub mod console;
pub mod sandbox;
pub mod source;
