//! Two server processes on one PostgreSQL database: a permission removed through one is denied by
//! the other on its very next request, and a process that loses its invalidation connection
//! empties its policy cache.
//!
//! The second process is this test binary run again as `cluster::second_process` (an ignored
//! test), which opens its own `Iam` (own pool, own cache, own LISTEN connection) and answers
//! commands on stdin: `check` (may the user list users, and was that decided from the cache?),
//! `cached` (how many principals are cached?), `listening`, `quit`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iam_core::entities::EntityKind;
use iam_core::policies::CreatePolicy;
use iam_core::users::{CreateUser, ListUsers};
use iam_core::{Iam, ManualClock, Principal, SecretKey, Store, Timestamp};
use sqlx::Connection as _;

use crate::harness::{TestDb, caller, postgres_url};

const PREFIX: &str = "SECOND-PROCESS: ";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the first process"))
}

/// The second process. Run only by `permissions_removed_in_one_process_are_denied_in_another`.
#[test]
#[ignore = "run as a child process by the cluster test"]
fn second_process() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::connect(&env("CLUSTER_DATABASE_URL"), 4).await.unwrap();
        let clock = ManualClock::new(Timestamp::from_millis(1_795_856_400_000));
        let iam = Iam::new(store, Arc::new(clock), SecretKey::generate(), 1).unwrap();
        let bob = caller(Principal::User {
            account_id: env("CLUSTER_ACCOUNT"),
            user_id: env("CLUSTER_USER_ID"),
            user_name: "bob".into(),
            path: "/".into(),
        });
        // Up once the LISTEN connection is (its connecting empties the cache), with a warm cache.
        let started = Instant::now();
        while !iam.policy_cache().is_listening() {
            assert!(started.elapsed() < Duration::from_secs(20), "the LISTEN connection never came up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        iam.list_users(&bob, ListUsers::default()).await.unwrap();
        println!("{PREFIX}ready");
        let mut lines = BufReader::new(std::io::stdin()).lines();
        while let Some(Ok(command)) = tokio::task::block_in_place(|| lines.next()) {
            match command.as_str() {
                "check" => {
                    let loads = iam.policy_cache().loads();
                    let answer = match iam.list_users(&bob, ListUsers::default()).await {
                        Ok(_) => "allowed",
                        Err(e) if e.code() == "AccessDenied" => "denied",
                        Err(e) => panic!("{e}"),
                    };
                    let source = if iam.policy_cache().loads() == loads { "from-cache" } else { "loaded" };
                    println!("{PREFIX}{answer} {source}");
                }
                "cached" => println!("{PREFIX}{}", iam.policy_cache().len()),
                "listening" => println!("{PREFIX}{}", iam.policy_cache().is_listening()),
                _ => break,
            }
        }
        iam.store().close().await;
    });
}

struct Child {
    process: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Child {
    fn answer(&mut self) -> String {
        for line in self.stdout.by_ref() {
            let line = line.unwrap();
            // libtest may print `test cluster::second_process ... ` first, on the same line.
            if let Some(at) = line.find(PREFIX) {
                return line[at + PREFIX.len()..].to_owned();
            }
        }
        panic!("the second process ended");
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        self.answer()
    }

    /// Checks until the answer comes from the cache (a notification arriving during a load keeps
    /// that load out of the cache, so this may take a request or two), and it must be `expected`.
    fn settle(&mut self, expected: &str) {
        for _ in 0..50 {
            let answer = self.ask("check");
            assert!(answer.starts_with(expected), "{answer}, expected {expected}");
            if answer.ends_with("from-cache") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the second process never decided from its cache");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_removed_in_one_process_are_denied_in_another() {
    let Some(admin) = postgres_url() else {
        eprintln!("skipped: PORTCULLIS_TEST_DATABASE_URL is not set");
        return;
    };
    let db = TestDb::postgres(&admin).await;
    let root = db.with_account().await;
    let bob = db.iam.create_user(&root, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    db.iam.create_group(&root, "readers", None).await.unwrap();
    db.iam.add_user_to_group(&root, "readers", "bob").await.unwrap();
    db.iam
        .attach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();

    let mut process = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "cluster::second_process", "--ignored", "--nocapture", "--test-threads", "1"])
        .env("CLUSTER_DATABASE_URL", db.url())
        .env("CLUSTER_ACCOUNT", root.account_id())
        .env("CLUSTER_USER_ID", &bob.user_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = process.stdin.take().unwrap();
    let stdout = BufReader::new(process.stdout.take().unwrap()).lines();
    let mut child = Child { process, stdin, stdout };
    assert_eq!(child.answer(), "ready");
    child.settle("allowed");

    // Removed here; denied there on the very next request, whenever the NOTIFY arrives.
    db.iam.remove_user_from_group(&root, "readers", "bob").await.unwrap();
    assert!(child.ask("check").starts_with("denied "));
    child.settle("denied");
    db.iam.add_user_to_group(&root, "readers", "bob").await.unwrap();
    assert!(child.ask("check").starts_with("allowed "));
    child.settle("allowed");
    db.iam
        .detach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    assert!(child.ask("check").starts_with("denied "));
    db.iam
        .attach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    assert!(child.ask("check").starts_with("allowed "));
    child.settle("allowed");

    // A policy deleted and created again under its name is a new policy there too: the other
    // process must not decide with what it compiled from the old document.
    let grant = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;
    let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#;
    let create = |document: &str| CreatePolicy {
        policy_name: "Listing".into(),
        policy_document: document.into(),
        ..Default::default()
    };
    let listing = db.iam.create_policy(&root, create(grant)).await.unwrap().arn;
    db.iam
        .detach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    db.iam.attach_policy(&root, EntityKind::User, "bob", &listing).await.unwrap();
    assert!(child.ask("check").starts_with("allowed "));
    child.settle("allowed");
    db.iam.detach_policy(&root, EntityKind::User, "bob", &listing).await.unwrap();
    db.iam.delete_policy(&root, &listing).await.unwrap();
    db.iam.create_policy(&root, create(other)).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::User, "bob", &listing).await.unwrap();
    assert!(child.ask("check").starts_with("denied "), "the recreated policy grants only its new document");
    child.settle("denied");
    db.iam
        .attach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    assert!(child.ask("check").starts_with("allowed "));
    child.settle("allowed");

    // Cut the second process's LISTEN connection: its cache empties (it may have missed
    // invalidations), and fills again.
    assert_eq!(child.ask("cached"), "1");
    let mut admin_conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'",
    )
    .bind(db.database_name())
    .fetch_one(&mut admin_conn)
    .await
    .unwrap();
    assert!(killed >= 2, "both processes listen ({killed} listeners found)");
    let started = Instant::now();
    while child.ask("cached") != "0" {
        assert!(started.elapsed() < Duration::from_secs(10), "the cache was not emptied after the connection was lost");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    while child.ask("listening") != "true" {
        assert!(started.elapsed() < Duration::from_secs(20), "the second process did not listen again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(child.ask("check").starts_with("allowed "));
    child.settle("allowed");
    writeln!(child.stdin, "quit").unwrap();
    child.stdin.flush().unwrap();
    assert!(child.process.wait().unwrap().success(), "the second process ended well");
    db.finish().await;
}
