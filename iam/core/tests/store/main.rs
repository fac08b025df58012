//! iam-core against real databases: every test runs on a fresh SQLite file and, when
//! `PORTCULLIS_TEST_DATABASE_URL` names a PostgreSQL server, on a fresh PostgreSQL database too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails loudly where a bad value appears"
)]

mod access_keys;
mod accounts;
mod cluster;
mod contract;
mod escalation;
mod harness;
mod mfa;
mod passwords;
mod policies;
mod reports;
mod resource_keys;
mod roles;
mod secrets;
mod settings;
mod sign_in;
mod simulator;
mod users;
