//! The server end to end over HTTP, without a browser: each test starts its own server on port 0
//! with a fresh database (SQLite, and PostgreSQL too when PORTCULLIS_TEST_DATABASE_URL is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails loudly where a bad value appears"
)]

mod binary;
mod console;
mod harness;
mod sign_in;
