//! The AWS IAM policy language: Amazon Resource Names, and policy documents parsed and validated
//! with AWS's rules and words; compilation, evaluation and explanation build on these.
//!
//! The crate is pure: no I/O, no clock, no async runtime. Everything it decides on is passed in,
//! which is why it can be fuzzed, benchmarked and compiled to wasm for the console's editor.

pub mod arn;
pub mod compile;
pub mod document;
pub mod error;
pub mod eval;
pub mod parse;
pub mod pattern;
pub mod request;
pub mod validate;
pub mod values;

pub use arn::{Arn, ArnError};
pub use compile::{CompiledPolicy, PolicySource, compile};
pub use document::{Effect, PolicyDocument, Statement, Version};
pub use error::{PolicyError, PolicyErrorKind};
pub use eval::{Decision, DenyStep, MatchedStatement, Outcome, PolicySet, evaluate};
pub use parse::{parse_owned, parse_policy, parse_value};
pub use request::{Context, PrincipalType, Request, RequestPrincipal};
pub use validate::{PolicyKind, parse_and_validate, validate};
