//! How fast iam-core authorizes and reads, through its own API without HTTP:
//! - authorization of a request for a principal with 10 policies (5 attached, 3 through a group,
//!   2 inline; wildcards and conditions), warm cache, beside the bare evaluator on the same
//!   policies (the baseline: what the cache and iam-core's context add);
//! - the same on a cache miss: load and compile from SQLite;
//! - the whole call when the principal's policies test the target's tags (the target is read);
//! - with 5,000 users of 10 policies each in one account: a page of ListUsers and a credential
//!   report, on SQLite and (with `PORTCULLIS_TEST_DATABASE_URL`) on PostgreSQL.
//!
//! Run: `cargo bench -p iam-core` (add `PORTCULLIS_TEST_DATABASE_URL=postgres://...` for PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "a benchmark")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use iam_core::accounts::NewAccount;
use iam_core::authz::Request;
use iam_core::entities::EntityKind;
use iam_core::policies::CreatePolicy;
use iam_core::users::{CreateUser, ListUsers, UserOrder, UsersQuery};
use iam_core::{Caller, Channel, Iam, ManualClock, Password, Principal, SecretKey, Store, Timestamp};
use sqlx::Connection as _;

const USERS: usize = 5_000;

fn median(rounds: usize, calls: u32, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed() / calls
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// A policy of five statements with wildcards and conditions, as people write them.
fn policy(i: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"Read{i}","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"arn:aws:iam::*:user/team{i}/*"}},
        {{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{i}/${{aws:username}}/*"}},
        {{"Effect":"Allow","Action":["ec2:Describe*","ec2:StartInstances"],"Resource":"*",
          "Condition":{{"StringEquals":{{"aws:PrincipalTag/team":"team{i}"}}}}}},
        {{"Effect":"Deny","NotAction":["iam:*","s3:*"],"Resource":"*",
          "Condition":{{"NotIpAddress":{{"aws:SourceIp":["10.{i}.0.0/16","192.0.2.0/24"]}}}}}},
        {{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/${{aws:username}}",
          "Condition":{{"Bool":{{"aws:SecureTransport":"true"}},"NumericLessThan":{{"aws:MultiFactorAuthAge":"3600"}}}}}}]}}"#
    )
}

struct Db {
    iam: Iam,
    clock: ManualClock,
    root: Caller,
    cleanup: Option<(String, String)>,
    path: Option<std::path::PathBuf>,
}

async fn open(url: &str) -> (Iam, ManualClock) {
    let store = Store::connect(url, 8).await.unwrap();
    store.migrate().await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_795_856_400_000));
    let iam = Iam::new(store, Arc::new(clock.clone()), SecretKey::generate(), 2).unwrap();
    (iam, clock)
}

fn caller(principal: Principal, mfa_at: Option<Timestamp>) -> Caller {
    Caller {
        principal,
        channel: Channel::Console { session_ref: "bench".into() },
        source_ip: Some("192.0.2.10".parse().unwrap()),
        secure_transport: true,
        mfa_authenticated_at: mfa_at,
        session_issued_at: None,
        request_id: None,
        client_request_id: None,
        user_agent: None,
    }
}

async fn database(postgres: Option<&str>) -> Db {
    let name = format!("portcullis_bench_{}", iam_core::ids::reference_id().to_lowercase());
    let (iam, clock, cleanup, path) = match postgres {
        Some(admin) => {
            let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
            let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
            let (iam, clock) = open(&format!("{base}/{name}")).await;
            (iam, clock, Some((admin.to_owned(), name.clone())), None)
        }
        None => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let (iam, clock) = open(&format!("sqlite://{}", path.display())).await;
            (iam, clock, None, Some(path))
        }
    };
    let account = iam
        .bootstrap(NewAccount {
            alias: format!("bench-{}", &name[name.len() - 6..]),
            root_email: "root@example.com".into(),
            root_password: Password::new("Root-password-1"),
        })
        .await
        .unwrap();
    let root = caller(Principal::Root { account_id: account.account_id }, None);
    Db { iam, clock, root, cleanup, path }
}

impl Db {
    async fn finish(self) {
        self.iam.store().close().await;
        if let Some((admin, name)) = self.cleanup {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.ok();
        }
        if let Some(path) = self.path {
            for suffix in ["", "-wal", "-shm", ".lock"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                std::fs::remove_file(p).ok();
            }
        }
    }
}

/// A user with 10 policies: 5 attached, 3 through a group, 2 inline. Returns the user's caller.
async fn principal_with_ten_policies(db: &Db) -> (Caller, String) {
    let iam = &db.iam;
    let root = &db.root;
    let mut arns = Vec::new();
    for i in 0..10 {
        let input = CreatePolicy { policy_name: format!("P{i}"), policy_document: policy(i), ..Default::default() };
        arns.push(iam.create_policy(root, input).await.unwrap().arn);
    }
    let tags = vec![("team".to_owned(), "team3".to_owned())];
    let user = iam
        .create_user(root, CreateUser { user_name: "alice".into(), path: None, tags, permissions_boundary: None })
        .await
        .unwrap();
    for arn in &arns[..5] {
        iam.attach_policy(root, EntityKind::User, "alice", arn).await.unwrap();
    }
    iam.create_group(root, "g", None).await.unwrap();
    iam.add_user_to_group(root, "g", "alice").await.unwrap();
    for arn in &arns[5..8] {
        iam.attach_policy(root, EntityKind::Group, "g", arn).await.unwrap();
    }
    for i in 8..10 {
        iam.put_inline_policy(root, EntityKind::User, "alice", &format!("Inline{i}"), &policy(i)).await.unwrap();
    }
    let alice = caller(
        Principal::User {
            account_id: root.account_id().to_owned(),
            user_id: user.user_id,
            user_name: "alice".into(),
            path: "/".into(),
        },
        Some(Timestamp::from_millis(db.clock_now() - 60_000)),
    );
    (alice, user.arn)
}

impl Db {
    fn clock_now(&self) -> i64 {
        self.iam.now().as_millis()
    }
}

/// 5,000 users, each with 10 attached policies; half with a console password, a third with an
/// access key. Written in bulk: the bench measures reads, not 55,000 separate transactions.
async fn seed_users(db: &Db) {
    let account = db.root.account_id().to_owned();
    let now = db.clock_now();
    let arns: Vec<String> = (0..10).map(|i| format!("arn:aws:iam::{account}:policy/P{i}")).collect();
    let mut tx = db.iam.store().pool().begin().await.unwrap();
    for chunk in (0..USERS).collect::<Vec<_>>().chunks(250) {
        let mut users =
            String::from("INSERT INTO users (user_id, account_id, user_name, name_key, path, created_at) VALUES ");
        let mut profiles = String::from(
            "INSERT INTO login_profiles (user_id, account_id, password_hash, reset_required, created_at, password_changed_at) VALUES ",
        );
        let mut keys = String::from(
            "INSERT INTO access_keys (access_key_id, account_id, owner_id, secret_sealed, active, created_at) VALUES ",
        );
        let mut attachments = String::from(
            "INSERT INTO policy_attachments (account_id, entity_id, entity_kind, policy_arn, attached_at) VALUES ",
        );
        let (mut first_profile, mut first_key, mut first_attachment) = (true, true, true);
        for (n, i) in chunk.iter().enumerate() {
            let id = format!("AIDABENCH{i:012}");
            if n > 0 {
                users.push(',');
            }
            users.push_str(&format!("('{id}','{account}','user{i:04}','user{i:04}','/',{now})"));
            if i % 2 == 0 {
                if !first_profile {
                    profiles.push(',');
                }
                first_profile = false;
                profiles.push_str(&format!("('{id}','{account}','$argon2id$unused',0,{now},{now})"));
            }
            if i % 3 == 0 {
                if !first_key {
                    keys.push(',');
                }
                first_key = false;
                keys.push_str(&format!("('AKIABENCH{i:011}','{account}','{id}','v1:unused',1,{now})"));
            }
            for arn in &arns {
                if !first_attachment {
                    attachments.push(',');
                }
                first_attachment = false;
                attachments.push_str(&format!("('{account}','{id}','user','{arn}',{now})"));
            }
        }
        for sql in [users, profiles, keys, attachments] {
            sqlx::query(&sql).execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

fn backend_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime, label: &str, postgres: Option<&str>) {
    let db = rt.block_on(database(postgres));
    let (alice, alice_arn) = rt.block_on(principal_with_ten_policies(&db));
    let request = Request::new("iam:GetUser", &alice_arn, alice.account_id());
    // Warm the cache, once PostgreSQL's invalidation listener is up (connecting empties the cache).
    rt.block_on(async {
        while postgres.is_some() && !db.iam.policy_cache().is_listening() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Notifications of the setup's own writes may still be arriving: each one empties the
        // account's entries, so authorize until the entry stays.
        for _ in 0..100 {
            db.iam.authorize(&alice, &request).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            if db.iam.cached_effective(&alice.principal).is_some() {
                break;
            }
        }
    });
    let effective = db.iam.cached_effective(&alice.principal).expect("the cache is on");
    assert_eq!(effective.policies.identity.len(), 10);

    let mut group = c.benchmark_group(format!("{label}: authorization"));
    group.bench_function("warm cache, 10 policies", |b| {
        b.iter(|| {
            let effective = db.iam.cached_effective(&alice.principal).unwrap();
            black_box(db.iam.authorize_with(&effective, &alice, &request).unwrap());
        })
    });
    group.sample_size(20);
    group.bench_function("cache miss: load and compile", |b| {
        b.iter(|| {
            db.iam.policy_cache().clear();
            black_box(rt.block_on(db.iam.authorize(&alice, &request)).unwrap());
        })
    });
    group.finish();
    let warm = median(41, 2_000, || {
        let effective = db.iam.cached_effective(&alice.principal).unwrap();
        black_box(db.iam.authorize_with(&effective, &alice, &request).unwrap());
    });
    // The whole call as actions make it (on PostgreSQL this includes confirming the cached entry
    // against the account's revision: one primary-key read).
    let through_async = median(41, if postgres.is_some() { 50 } else { 2_000 }, || {
        black_box(rt.block_on(db.iam.authorize(&alice, &request)).unwrap());
    });
    // The baseline: the bare evaluator on the same policies and an equivalent, prebuilt context.
    let mut context = iam_policy::Context::over(effective.keys.clone());
    context.insert("aws:SourceIp", "192.0.2.10").insert("aws:SecureTransport", "true");
    context.insert("aws:MultiFactorAuthPresent", "true").insert("aws:MultiFactorAuthAge", "60");
    let bare = median(41, 2_000, || {
        let r = iam_policy::Request {
            principal: &effective.principal,
            action: "iam:GetUser",
            resource: &alice_arn,
            resource_account: None,
            context: &context,
        };
        black_box(iam_policy::evaluate(&r, &effective.policies));
    });
    let miss = median(21, 5, || {
        db.iam.policy_cache().clear();
        black_box(rt.block_on(db.iam.authorize(&alice, &request)).unwrap());
    });
    println!(
        "{label}: warm authorization p50 {warm:?} (through the async call {through_async:?}); bare evaluator {bare:?} \
         ({:.1}x of it); cache miss p50 {miss:?} ({:.0}x a warm one)",
        warm.as_secs_f64() / bare.as_secs_f64(),
        miss.as_secs_f64() / warm.as_secs_f64()
    );
    // A principal whose policies test the target's tags: each authorization also reads the
    // target (its row and its tags) to supply aws:ResourceTag/* and iam:ResourceTag/*.
    let abac = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUserTags",
        "Resource":"*","Condition":{"StringEquals":{"iam:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}"#;
    rt.block_on(db.iam.put_inline_policy(&db.root, EntityKind::User, "alice", "Abac", abac)).unwrap();
    rt.block_on(db.iam.authorize(&alice, &request)).unwrap();
    let with_facts = median(41, if postgres.is_some() { 50 } else { 500 }, || {
        black_box(rt.block_on(db.iam.authorize(&alice, &request)).unwrap());
    });
    println!(
        "{label}: the async call when the policies test resource tags p50 {with_facts:?} ({:.1}x of the call without)",
        with_facts.as_secs_f64() / through_async.as_secs_f64()
    );
    rt.block_on(db.iam.delete_inline_policy(&db.root, EntityKind::User, "alice", "Abac")).unwrap();

    rt.block_on(seed_users(&db));
    let mut group = c.benchmark_group(format!("{label}: {USERS} users of 10 policies"));
    group.sample_size(10);
    group.bench_function("ListUsers, first page of 100", |b| {
        b.iter(|| black_box(rt.block_on(db.iam.list_users(&db.root, ListUsers::default())).unwrap()))
    });
    group.bench_function("credential report", |b| {
        b.iter(|| {
            // Past the four hours, so every call makes a new report.
            db.clock.advance_millis(5 * 60 * 60 * 1000);
            black_box(rt.block_on(db.iam.generate_credential_report(&db.root)).unwrap());
        })
    });
    group.finish();
    let page = median(11, 3, || {
        black_box(rt.block_on(db.iam.list_users(&db.root, ListUsers::default())).unwrap());
    });
    // The console's users list: page 25 of 50 by last console sign-in (the database sorts the
    // 5,000 and reads 100), and its columns for those 100 rows.
    let console_query = || UsersQuery {
        order: UserOrder::ConsoleSignIn,
        descending: true,
        page: 25,
        page_size: 100,
        ..Default::default()
    };
    let console_page = median(11, 3, || {
        black_box(rt.block_on(db.iam.users_page(&db.root, console_query())).unwrap());
    });
    let rows = rt.block_on(db.iam.users_page(&db.root, console_query())).unwrap().users;
    let columns = median(11, 3, || {
        black_box(rt.block_on(db.iam.user_list_columns(&db.root, &rows)).unwrap());
    });
    println!(
        "{label}: {USERS} users: the console's page 25 by sign-in p50 {console_page:?} ({:.1}x of a ListUsers page); \
         its 100 rows' columns p50 {columns:?}",
        console_page.as_secs_f64() / page.as_secs_f64()
    );
    let report = median(7, 1, || {
        db.clock.advance_millis(5 * 60 * 60 * 1000);
        black_box(rt.block_on(db.iam.generate_credential_report(&db.root)).unwrap());
    });
    let lines = rt.block_on(db.iam.get_credential_report(&db.root)).unwrap().content.lines().count();
    println!("{label}: {USERS} users: ListUsers page p50 {page:?}; credential report ({lines} lines) p50 {report:?}");
    rt.block_on(db.finish());
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    backend_benches(c, &rt, "sqlite", None);
    match std::env::var("PORTCULLIS_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => backend_benches(c, &rt, "postgres", Some(&url)),
        None => println!("postgres: skipped (set PORTCULLIS_TEST_DATABASE_URL to measure it)"),
    }
}

criterion_group!(store, benches);
criterion_main!(store);
