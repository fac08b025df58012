//! iam-policy against real documents: every AWS managed policy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails loudly where a bad value appears"
)]

mod corpus;
mod differential;
mod managed;
mod reference;
