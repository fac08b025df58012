use std::sync::Arc;

use iam_core::accounts::NewAccount;
use iam_core::{Caller, Channel, Iam, ManualClock, Password, Principal, SecretKey, Store, Timestamp};
use sqlx::Connection as _;

/// A fresh database of one backend, dropped (PostgreSQL) or deleted (SQLite) at the end.
pub struct TestDb {
    pub iam: Iam,
    pub clock: ManualClock,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

fn unique_name() -> String {
    format!("portcullis_test_{}", iam_core::ids::reference_id().to_lowercase())
}

/// The server part of a PostgreSQL URL with another database name.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub fn postgres_url() -> Option<String> {
    std::env::var("PORTCULLIS_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        TestDb::open(&url, Cleanup::File(path)).await
    }

    pub async fn postgres(admin_url: &str) -> TestDb {
        let name = unique_name();
        let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("connect to the test PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        admin.close().await.ok();
        TestDb::open(&with_database(admin_url, &name), Cleanup::Postgres { admin_url: admin_url.to_owned(), name })
            .await
    }

    async fn open(url: &str, cleanup: Cleanup) -> TestDb {
        let store = Store::connect(url, 8).await.expect("connect");
        store.migrate().await.expect("migrate");
        let clock = ManualClock::new(Timestamp::from_millis(1_795_856_400_000));
        let iam = Iam::new(store, Arc::new(clock.clone()), SecretKey::generate(), 4).expect("iam");
        TestDb { iam, clock, url: url.to_owned(), cleanup }
    }

    /// The database's URL, for a second process to open.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PostgreSQL database's name (empty for SQLite).
    pub fn database_name(&self) -> &str {
        match &self.cleanup {
            Cleanup::Postgres { name, .. } => name,
            Cleanup::File(_) => "",
        }
    }

    /// Bootstraps the first account and returns a root caller for it.
    pub async fn with_account(&self) -> Caller {
        let account = self
            .iam
            .bootstrap(NewAccount {
                alias: "example-corp".into(),
                root_email: "root@example.com".into(),
                root_password: Password::new(ROOT_PASSWORD),
            })
            .await
            .expect("bootstrap");
        root(&account.account_id)
    }

    pub async fn finish(self) {
        self.iam.store().close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm", ".lock"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    std::fs::remove_file(p).ok();
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
                }
            }
        }
    }
}

pub const ROOT_PASSWORD: &str = "Root-password-1";

pub fn root(account_id: &str) -> Caller {
    caller(Principal::Root { account_id: account_id.to_owned() })
}

pub fn caller(principal: Principal) -> Caller {
    Caller {
        principal,
        channel: Channel::Console { session_ref: "test-session".into() },
        source_ip: Some("192.0.2.10".parse().expect("ip")),
        secure_transport: false,
        mfa_authenticated_at: None,
        session_issued_at: Some(iam_core::Timestamp::from_millis(1_795_856_000_000)),
        request_id: Some("req-1".into()),
        client_request_id: None,
        user_agent: Some("aws-cli/2.27.0 Python/3.13".into()),
    }
}

/// Defines a test per backend: `NAME::sqlite` always, `NAME::postgres` when a server is given
/// (otherwise it says it was skipped and passes).
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn case($db: &$crate::harness::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::harness::TestDb::sqlite().await;
                case(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(url) = $crate::harness::postgres_url() else {
                    eprintln!("skipped: PORTCULLIS_TEST_DATABASE_URL is not set");
                    return;
                };
                let db = $crate::harness::TestDb::postgres(&url).await;
                case(&db).await;
                db.finish().await;
            }
        }
    };
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
    assert_eq!(with_database("postgres://h/test?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
