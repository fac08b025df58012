//! iam-core against real databases: every test runs on a fresh SQLite file and, when
//! `PORTCULLIS_TEST_DATABASE_URL` names a PostgreSQL server, on a fresh PostgreSQL database too.

mod harness;
mod accounts;
mod users;
