//! The AWS IAM policy language: Amazon Resource Names now; parsing, validation, compilation,
//! evaluation and explanation of policy documents as the engine grows.
//!
//! The crate is pure: no I/O, no clock, no async runtime. Everything it decides on is passed in,
//! which is why it can be fuzzed, benchmarked and compiled to wasm for the console's editor.

pub mod arn;

pub use arn::{Arn, ArnError};
