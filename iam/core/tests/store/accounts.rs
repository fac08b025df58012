use iam_core::accounts::{NewAccount, SignIn, SignInError};
use iam_core::{Password, Principal};

use crate::harness::{ROOT_PASSWORD, TestDb};
use crate::on_both;

on_both!(bootstrap_happens_once, |db| {
    assert!(!db.iam.is_set_up().await.unwrap());
    let new = |alias: &str| NewAccount {
        alias: alias.into(),
        root_email: "root@example.com".into(),
        root_password: Password::new(ROOT_PASSWORD),
    };
    let (a, b) = tokio::join!(db.iam.bootstrap(new("first-corp")), db.iam.bootstrap(new("second-corp")));
    let (ok, err) = match (a, b) {
        (Ok(acct), Err(e)) | (Err(e), Ok(acct)) => (acct, e),
        other => panic!("expected one success and one failure, got {other:?}"),
    };
    assert_eq!(ok.account_id.len(), 12);
    assert!(ok.account_id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(err.code(), "EntityAlreadyExists");
    assert!(db.iam.is_set_up().await.unwrap());
    assert_eq!(db.iam.bootstrap(new("third-corp")).await.unwrap_err().code(), "EntityAlreadyExists");
    let account = db.iam.account(&ok.account_id).await.unwrap();
    assert_eq!(account.root_email, "root@example.com");
});

on_both!(bootstrap_validates_like_aws_sign_up, |db| {
    let attempt = |alias: &str, email: &str, password: &str| NewAccount {
        alias: alias.into(),
        root_email: email.into(),
        root_password: Password::new(password),
    };
    let weak = db.iam.bootstrap(attempt("example", "root@example.com", "password")).await.unwrap_err();
    assert_eq!(weak.code(), "PasswordPolicyViolation");
    let alias = db.iam.bootstrap(attempt("Bad_Alias", "root@example.com", ROOT_PASSWORD)).await.unwrap_err();
    assert_eq!(alias.code(), "ValidationError");
    let email = db.iam.bootstrap(attempt("example", "not-an-email", ROOT_PASSWORD)).await.unwrap_err();
    assert_eq!(email.code(), "ValidationError");
    assert!(!db.iam.is_set_up().await.unwrap(), "a refused bootstrap must leave nothing behind");
});

on_both!(root_signs_in_with_email_and_password_only, |db| {
    let root = db.with_account().await;
    let signed = db
        .iam
        .sign_in(
            &SignIn::Root { email: " ROOT@example.com".into(), password: Password::new(ROOT_PASSWORD) },
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(signed.principal, root.principal);
    let wrong = db
        .iam
        .sign_in(
            &SignIn::Root { email: "root@example.com".into(), password: Password::new("Wrong-password-1") },
            &Default::default(),
        )
        .await;
    assert_eq!(wrong, Err(SignInError::Incorrect));
    let unknown = db
        .iam
        .sign_in(
            &SignIn::Root { email: "nobody@example.com".into(), password: Password::new(ROOT_PASSWORD) },
            &Default::default(),
        )
        .await;
    assert_eq!(unknown, Err(SignInError::Incorrect));
    assert_eq!(SignInError::Incorrect.to_string(), "Your authentication information is incorrect. Please try again.");
});

on_both!(iam_users_sign_in_by_account_id_or_alias, |db| {
    let root = db.with_account().await;
    let account_id = root.account_id().to_owned();
    db.iam
        .create_user(&root, iam_core::users::CreateUser { user_name: "Alice".into(), ..Default::default() })
        .await
        .unwrap();
    let attempt = |account: &str, user: &str, password: &str| SignIn::User {
        account: account.into(),
        user_name: user.into(),
        password: Password::new(password),
    };
    // No console password yet: the same failure as a wrong one.
    assert_eq!(
        db.iam.sign_in(&attempt(&account_id, "alice", "Alice-password-1"), &Default::default()).await,
        Err(SignInError::Incorrect)
    );
    db.iam.create_login_profile(&root, "alice", &Password::new("Alice-password-1"), false).await.unwrap();
    for account in [account_id.as_str(), "example-corp", "EXAMPLE-CORP"] {
        let signed = db.iam.sign_in(&attempt(account, "ALICE", "Alice-password-1"), &Default::default()).await.unwrap();
        match signed.principal {
            Principal::User { ref user_name, .. } => assert_eq!(user_name, "Alice"),
            ref other => panic!("signed in as {other:?}"),
        }
        assert!(!signed.password_reset_required);
    }
    for bad in [
        attempt(&account_id, "alice", "Wrong-password-1"),
        attempt(&account_id, "bob", "Alice-password-1"),
        attempt("999999999999", "alice", "Alice-password-1"),
        attempt("other-corp", "alice", "Alice-password-1"),
    ] {
        assert_eq!(db.iam.sign_in(&bad, &Default::default()).await, Err(SignInError::Incorrect), "{bad:?}");
    }
    let users = db.iam.list_users(&root, Default::default()).await.unwrap();
    let alice = users.items.first().unwrap();
    assert!(alice.password_last_used.is_some(), "sign-in records last use");
});

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync() {
    let db = TestDb::sqlite().await;
    let mut conn = db.iam.store().pool().acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(sync, 2, "FULL: a commit is on disk before it is acknowledged");
    drop(conn);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_one_sqlite_file_is_refused() {
    // Its policy cache would never hear of the first one's changes: refused, not left stale.
    let db = TestDb::sqlite().await;
    let second = iam_core::Store::connect(db.url(), 2).await.unwrap_err();
    assert!(matches!(second, iam_core::StoreError::InUse(_)), "{second}");
    assert!(second.to_string().contains("another process uses the SQLite database"), "{second}");
    let url = db.url().to_owned();
    db.finish().await;
    // Once the first is gone, the file is free again.
    let again = iam_core::Store::connect(&url, 2).await.unwrap();
    again.close().await;
    drop(again);
    for suffix in ["", "-wal", "-shm", ".lock"] {
        std::fs::remove_file(format!("{}{suffix}", url.trim_start_matches("sqlite://"))).ok();
    }
}

on_both!(the_root_user_is_recovered_from_the_server_machine, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let sign_in = |password: &str| SignIn::Root { email: "root@example.com".into(), password: Password::new(password) };
    // The root user has an MFA device (and has lost it, and its password).
    let device = db.iam.create_virtual_mfa_device(&root, "root-phone", None).await.unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&device.base32_string_seed).unwrap())
        .with_account_name("t")
        .build()
        .unwrap();
    let now = u64::try_from(db.iam.now().as_millis() / 1000).unwrap();
    let (c1, c2) = (totp.generate(now - 30).to_string(), totp.generate(now).to_string());
    db.iam.enable_mfa_device(&root, None, &device.serial_number, &c1, &c2).await.unwrap();

    let nothing = db.iam.recover_root(&account, None, false).await.unwrap_err();
    assert_eq!(nothing.code(), "InvalidInput");
    let weak = db.iam.recover_root("example-corp", Some(&Password::new("short")), false).await.unwrap_err();
    assert_eq!(weak.code(), "PasswordPolicyViolation", "the account's rules hold here too");
    let unknown = db.iam.recover_root("no-such-corp", Some(&Password::new("Recovered-password-1")), false).await;
    assert_eq!(unknown.unwrap_err().code(), "NoSuchEntity");

    let done = db.iam.recover_root("example-corp", Some(&Password::new("Recovered-password-1")), true).await.unwrap();
    assert_eq!(done.account_id, account);
    assert!(done.password_reset);
    assert_eq!(done.removed_mfa_devices, std::slice::from_ref(&device.serial_number));
    assert!(matches!(db.iam.sign_in(&sign_in(ROOT_PASSWORD), &Default::default()).await, Err(SignInError::Incorrect)));
    db.iam.sign_in(&sign_in("Recovered-password-1"), &Default::default()).await.unwrap();
    assert!(db.iam.list_mfa_devices(&root, None).await.unwrap().is_empty());
    let events = db.iam.audit_events(&root, None, None, 10).await.unwrap();
    let recovery = events.iter().find(|e| e.action == "portcullis:RecoverRoot").expect("recorded in the audit log");
    assert_eq!(recovery.channel, "internal");
    assert!(!recovery.parameters.contains("Recovered-password-1"), "never the password");
});
