//! The server end to end over HTTP, without a browser: each test starts its own server on port 0
//! with a fresh database (SQLite, and PostgreSQL too when PORTCULLIS_TEST_DATABASE_URL is set).

mod harness;
mod binary;
mod console;
