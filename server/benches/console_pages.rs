//! Console pages under load: with 5,000 users in one account (some with console passwords, access
//! keys and a recorded key use), how long the server takes to render the users list at 100 rows a
//! page, under 1 and under 32 concurrent clients, beside the dashboard (the console's frame and one
//! small read: the baseline, measured in the same run). The root user reads every column; a
//! delegate allowed only some of them gets the others refused (recorded in the audit log).
//!
//! For each page it prints the time to the response's first byte (its headers: pages stream, so
//! this is the frame, the same for every page) and to its last byte (the whole page, every row
//! rendered), p50 and p99, and the ratio of each p50 to the dashboard's.
//!
//! `cargo bench -p server --bench console_pages` (SQLite in a temporary folder; set
//! `PORTCULLIS_BENCH_DATABASE_URL=postgres://...` to use a PostgreSQL database, which must be
//! empty). Prints what it measured; asserts only that every page answered in full (these machines
//! are noisy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "a benchmark")]

use std::time::{Duration, Instant};

use clap::Parser as _;
use common::{client, percentile};

mod common;

const ROOT_EMAIL: &str = "root@example.com";
const ROOT_PASSWORD: &str = "Bench-root-Password-77";
const USERS: usize = 5_000;
const DELEGATE: &str = "bench-auditor";
const DELEGATE_PASSWORD: &str = "Bench-auditor-Password-77";
/// What the delegate may read: the list and two of its columns (MFA devices, login profiles and
/// the keys' last use are refused).
const DELEGATE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Action":["iam:ListUsers","iam:ListGroupsForUser","iam:ListAccessKeys","iam:GetAccountSummary"],"Resource":"*"}]}"#;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A client signed in as the root user, or as the delegate (each has its own console session, as
/// browsers would).
async fn signed_in(base: &str, delegate: bool) -> reqwest::Client {
    let http = client();
    let form: &[(&str, &str)] = if delegate {
        &[
            ("kind", "iam"),
            ("account", "bench-corp"),
            ("user_name", DELEGATE),
            ("password", DELEGATE_PASSWORD),
            ("return_to", ""),
        ]
    } else {
        &[("kind", "root"), ("email", ROOT_EMAIL), ("password", ROOT_PASSWORD)]
    };
    let res = http.post(format!("{base}/api/sign_in")).form(form).send().await.unwrap();
    assert!(res.headers().contains_key("location"), "sign-in failed: {}", res.status());
    http
}

/// Times to the first and to the last byte of `requests` loads of `path` by each of `clients`.
/// `expect`: a text the page must hold `times` times (the rows rendered, not just their data).
async fn load(
    clients: &[reqwest::Client],
    url: &str,
    requests: usize,
    (expect, times): (&str, usize),
) -> (Vec<Duration>, Vec<Duration>) {
    let mut tasks = Vec::new();
    for http in clients {
        let (http, url, expect) = (http.clone(), url.to_owned(), expect.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut first = Vec::with_capacity(requests);
            let mut last = Vec::with_capacity(requests);
            for _ in 0..requests {
                let t = Instant::now();
                let res = http.get(&url).send().await.unwrap();
                first.push(t.elapsed());
                assert!(res.status().is_success(), "{url}: {}", res.status());
                let body = res.text().await.unwrap();
                last.push(t.elapsed());
                let found = body.matches(&expect).count();
                assert_eq!(found, times, "{url} rendered `{expect}` {found} times");
            }
            (first, last)
        }));
    }
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for t in tasks {
        let (f, l) = t.await.unwrap();
        first.extend(f);
        last.extend(l);
    }
    first.sort();
    last.sort();
    (first, last)
}

#[tokio::main]
async fn main() {
    let data_dir = std::env::temp_dir().join(format!("portcullis_bench_pages_{}", std::process::id()));
    let mut args: Vec<String> = ["portcullis", "--listen", "127.0.0.1:0", "--sign-in-rate", "100000", "--data-dir"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(data_dir.display().to_string());
    let database = std::env::var("PORTCULLIS_BENCH_DATABASE_URL").ok();
    if let Some(url) = &database {
        args.extend(["--database-url".to_owned(), url.clone()]);
    }
    let cli = server::config::Cli::parse_from(args);
    let prepared = server::prepare(&cli.config).await.expect("server starts");
    let iam = prepared.services.iam.clone();
    let base = format!("http://{}", prepared.listener.local_addr().unwrap());
    let account = iam
        .bootstrap(iam_core::accounts::NewAccount {
            alias: "bench-corp".into(),
            root_email: ROOT_EMAIL.into(),
            root_password: iam_core::Password::new(ROOT_PASSWORD),
        })
        .await
        .expect("bootstrap (the bench wants an empty database)");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(prepared, async move {
        stopped.await.ok();
    }));

    // 5,000 users: every tenth in a group and with an access key (every twentieth used), every
    // fiftieth with a console password, as an account that has them.
    let root = iam_core::Caller::internal(iam_core::Principal::Root { account_id: account.account_id.clone() });
    let t = Instant::now();
    iam.create_group(&root, "staff", None).await.unwrap();
    for i in 0..USERS {
        let name = format!("user-{i:05}");
        iam.create_user(&root, iam_core::users::CreateUser { user_name: name.clone(), ..Default::default() })
            .await
            .unwrap();
        if i % 10 == 0 {
            iam.add_user_to_group(&root, "staff", &name).await.unwrap();
            let key = iam.create_access_key(&root, Some(&name)).await.unwrap();
            if i % 20 == 0 {
                iam.record_access_key_use(&key.access_key_id, "us-east-1", "iam").await.unwrap();
            }
        }
        if i % 50 == 0 {
            let password = iam_core::Password::new(format!("User-password-{i:05}-long"));
            iam.create_login_profile(&root, &name, &password, false).await.unwrap();
        }
    }
    // The delegate, one of the 5,000 (the last).
    iam.delete_user_and_dependents(&root, "user-04999").await.unwrap();
    iam.create_user(&root, iam_core::users::CreateUser { user_name: DELEGATE.into(), ..Default::default() })
        .await
        .unwrap();
    iam.create_login_profile(&root, DELEGATE, &iam_core::Password::new(DELEGATE_PASSWORD), false).await.unwrap();
    iam.put_inline_policy(&root, iam_core::entities::EntityKind::User, DELEGATE, "Lists", DELEGATE_POLICY)
        .await
        .unwrap();
    println!(
        "database: {}; {USERS} users made in {:.1} s",
        if database.is_some() { "PostgreSQL" } else { "SQLite" },
        t.elapsed().as_secs_f64()
    );

    // Page 25 of 100 rows in name order: user-02400 to user-02499, each row with its checkbox.
    let list = format!("{base}/users?size=100&page=25");
    let pages = [
        ("root, dashboard (baseline)", false, format!("{base}/"), ("<h1>IAM dashboard</h1>", 1)),
        ("root, users list, 100 rows", false, list.clone(), ("aria-label=\"Select user-02", 100)),
        ("delegate, users list, 100 rows, 3 columns refused", true, list, ("aria-label=\"Select user-02", 100)),
    ];
    for clients in [1usize, 32] {
        let (mut root_clients, mut delegates) = (Vec::new(), Vec::new());
        for _ in 0..clients {
            root_clients.push(signed_in(&base, false).await);
            delegates.push(signed_in(&base, true).await);
        }
        // Warm up: the first loads fill caches (compiled policies, prepared statements).
        for (_, delegate, url, expect) in &pages {
            load(if *delegate { &delegates } else { &root_clients }, url, 3, *expect).await;
        }
        let requests = if clients == 1 { 200 } else { 20 };
        let mut baseline = Duration::ZERO;
        for (i, (what, delegate, url, expect)) in pages.iter().enumerate() {
            let signed = if *delegate { &delegates } else { &root_clients };
            let t = Instant::now();
            let (first, last) = load(signed, url, requests, *expect).await;
            let rate = last.len() as f64 / t.elapsed().as_secs_f64();
            let p50 = percentile(&last, 0.50);
            if i == 0 {
                baseline = p50;
            }
            println!(
                "{clients:>2} client(s), {what}: first byte p50 {:.2} ms, p99 {:.2} ms; last byte p50 {:.2} ms, \
                 p99 {:.2} ms; {rate:.0} pages/s; {:.2}x the baseline's p50",
                ms(percentile(&first, 0.50)),
                ms(percentile(&first, 0.99)),
                ms(p50),
                ms(percentile(&last, 0.99)),
                p50.as_secs_f64() / baseline.as_secs_f64().max(f64::EPSILON),
            );
        }
    }
    stop.send(()).ok();
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&data_dir).ok();
}
