//! Sealed secrets are bound to their account, owner and purpose; the database recognises its key;
//! keys AWS always sends are present; the audit log keeps what it could not yet write.

use iam_core::sealing::KeyCheckError;
use iam_core::users::CreateUser;
use iam_core::{Iam, SecretKey};
use totp_rs::{Builder, Secret};

use crate::harness::TestDb;
use crate::on_both;

fn code(db: &TestDb, seed: &str, steps_from_now: i64) -> String {
    let totp =
        Builder::new().with_secret(Secret::try_from_base32(seed).unwrap()).with_account_name("t").build().unwrap();
    let seconds = db.iam.now().as_millis() / 1000 + steps_from_now * 30;
    totp.generate(u64::try_from(seconds).unwrap()).to_string()
}

async fn execute(db: &TestDb, sql: &str, binds: &[&str]) {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    query.execute(db.iam.store().pool()).await.unwrap();
}

on_both!(a_secret_moved_to_another_owner_no_longer_opens, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();

    // Someone who can write the database, and knows alice's key, gives the key to root.
    let key = db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    assert!(db.iam.access_key_secret(&key.access_key_id).await.unwrap().is_some());
    execute(db, "UPDATE access_keys SET owner_id = $1 WHERE access_key_id = $2", &[&account, &key.access_key_id]).await;
    assert!(db.iam.access_key_secret(&key.access_key_id).await.is_err(), "a key moved to root does not open");

    // The same with a TOTP device whose seed alice knows: moved to root, it proves nothing.
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    let seed = device.base32_string_seed.clone();
    let (c1, c2) = (code(db, &seed, -1), code(db, &seed, 0));
    db.iam.enable_mfa_device(&root, Some("alice"), &device.serial_number, &c1, &c2).await.unwrap();
    db.clock.advance_millis(30_000);
    execute(db, "UPDATE mfa_devices SET owner_id = $1 WHERE serial_number = $2", &[&account, &device.serial_number])
        .await;
    assert!(db.iam.verify_totp(&account, &code(db, &seed, 0)).await.is_err(), "a seed moved to root does not open");
    execute(
        db,
        "UPDATE mfa_devices SET owner_id = $1 WHERE serial_number = $2",
        &[&alice.user_id, &device.serial_number],
    )
    .await;
    db.clock.advance_millis(30_000);
    assert!(db.iam.verify_totp(&alice.user_id, &code(db, &seed, 0)).await.unwrap().is_some(), "back where it was");
    // Deactivated, it is re-sealed for no owner, and can be enabled again.
    db.iam.deactivate_mfa_device(&root, Some("alice"), &device.serial_number).await.unwrap();
    db.clock.advance_millis(60_000);
    let (c1, c2) = (code(db, &seed, -1), code(db, &seed, 0));
    db.iam.enable_mfa_device(&root, None, &device.serial_number, &c1, &c2).await.unwrap();
});

on_both!(the_database_recognises_its_key_and_rebinds_old_secrets_once, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    // A secret sealed the way it was before secrets were bound to their owner.
    let legacy = db.iam.secret_key().seal("access-key:AKIALEGACYLEGACY0001", b"legacy-secret");
    execute(
        db,
        "INSERT INTO access_keys (access_key_id, account_id, owner_id, secret_sealed, active, created_at) \
         VALUES ('AKIALEGACYLEGACY0001', $1, $2, $3, 1, 0)",
        &[&account, &alice.user_id, &legacy],
    )
    .await;
    assert!(db.iam.access_key_secret("AKIALEGACYLEGACY0001").await.is_err(), "not bound yet");
    // And a TOTP seed sealed the old way, on an unassigned device.
    let seed = b"12345678901234567890";
    let serial = format!("arn:aws:iam::{account}:mfa/legacy");
    let sealed_seed = db.iam.secret_key().seal(&format!("mfa-seed:{serial}"), seed);
    execute(
        db,
        "INSERT INTO mfa_devices (serial_number, account_id, name_key, kind, seed_sealed, created_at) \
         VALUES ($1, $2, '/legacy', 'totp', $3, 0)",
        &[&serial, &account, &sealed_seed],
    )
    .await;

    // Another key is refused before anything is written.
    let other =
        Iam::new(db.iam.store().clone(), std::sync::Arc::new(db.clock.clone()), SecretKey::generate(), 1).unwrap();
    assert!(matches!(other.establish_secret_key().await, Err(KeyCheckError::LegacySecret(_))));
    // The right one re-seals it, bound, and records its check value.
    db.iam.establish_secret_key().await.unwrap();
    let (_, secret) = db.iam.access_key_secret("AKIALEGACYLEGACY0001").await.unwrap().unwrap();
    assert_eq!(secret.expose(), "legacy-secret");
    let base32 = Secret::from(seed.to_vec()).to_base32();
    let (c1, c2) = (code(db, &base32, -1), code(db, &base32, 0));
    db.iam.enable_mfa_device(&root, Some("alice"), &serial, &c1, &c2).await.unwrap();
    db.iam.establish_secret_key().await.unwrap();
    assert!(matches!(other.establish_secret_key().await, Err(KeyCheckError::WrongKey)), "a wrong key is refused");
    // Legacy contexts are never tried again: an old sealed value put back does not open.
    execute(db, "UPDATE access_keys SET secret_sealed = $1 WHERE access_key_id = 'AKIALEGACYLEGACY0001'", &[&legacy])
        .await;
    assert!(db.iam.access_key_secret("AKIALEGACYLEGACY0001").await.is_err());
});

on_both!(keys_aws_always_sends_are_present, |db| {
    use iam_core::entities::EntityKind;
    let root = db.with_account().await;
    let alice = crate::policies::user(db, &root, "alice", &[]).await;
    // Allowed only if every key AWS documents as present in every request (of an IAM user, from
    // the internet) is there.
    let always = [
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalType",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:SecureTransport",
        "aws:SourceIp",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:MultiFactorAuthPresent",
        // A console session holds temporary credentials, as AWS's console does.
        "aws:TokenIssueTime",
    ];
    let nulls: Vec<String> = always.iter().map(|k| format!(r#""{k}":"false""#)).collect();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*",
            "Condition":{{"Null":{{{}}}}}}}]}}"#,
        nulls.join(",")
    );
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Always", &policy).await.unwrap();
    db.iam.list_users(&alice, Default::default()).await.unwrap();

    // AWS's published "deny outside these networks unless via an AWS service" guardrail.
    let networks = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iam:*","Resource":"*"},
        {"Effect":"Deny","Action":"*","Resource":"*","Condition":{
            "NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},
            "Bool":{"aws:ViaAWSService":"false"}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Networks", networks).await.unwrap();
    db.iam.list_users(&alice, Default::default()).await.unwrap();
    let mut outside = alice.clone();
    outside.source_ip = Some("198.51.100.7".parse().unwrap());
    assert_eq!(db.iam.list_users(&outside, Default::default()).await.unwrap_err().code(), "AccessDenied");
});

on_both!(read_events_wait_while_the_database_is_away_and_a_refused_one_blocks_no_other, |db| {
    let root = db.with_account().await;
    db.iam.flush().await.unwrap();
    // The database refuses one kind of event (a trigger stands in for whatever could make a row
    // unwritable): that one is dropped, the others are written, auditing goes on.
    let refuse = match db.iam.store().backend() {
        iam_core::Backend::Sqlite => vec![
            "CREATE TRIGGER refuse_summary BEFORE INSERT ON audit_events WHEN NEW.action = 'iam:GetAccountSummary' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
        iam_core::Backend::Postgres => vec![
            "CREATE FUNCTION refuse_summary() RETURNS trigger AS $$ BEGIN \
             IF NEW.action = 'iam:GetAccountSummary' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END \
             $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_summary BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_summary()",
        ],
    };
    for sql in refuse {
        execute(db, sql, &[]).await;
    }
    db.iam.list_users(&root, Default::default()).await.unwrap();
    db.iam.get_account_summary(&root).await.unwrap();
    db.iam.list_groups(&root, None, None, None).await.unwrap();
    assert_eq!(db.iam.pending_audit_events(), 3);
    db.iam.flush().await.unwrap();
    assert_eq!(db.iam.pending_audit_events(), 0);
    let events = db.iam.audit_events(&root, None, None, 10).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"iam:ListUsers") && actions.contains(&"iam:ListGroups"), "{actions:?}");
    assert!(!actions.contains(&"iam:GetAccountSummary"));

    // The database away: everything waits in memory for the next flush.
    db.iam.list_users(&root, Default::default()).await.unwrap();
    let waiting = db.iam.pending_audit_events();
    assert!(waiting >= 1);
    db.iam.store().close().await;
    assert!(db.iam.flush().await.is_err());
    assert_eq!(db.iam.pending_audit_events(), waiting, "nothing dropped while the database is away");
});

on_both!(changes_refused_after_authorization_are_audited_with_their_error_code, |db| {
    use iam_core::entities::EntityKind;
    let root = db.with_account().await;
    db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    db.iam.create_group(&root, "team", None).await.unwrap();
    db.iam.add_user_to_group(&root, "team", "alice").await.unwrap();
    // Three refusals that come after authorization, from the store's own rules.
    assert_eq!(db.iam.delete_group(&root, "team").await.unwrap_err().code(), "DeleteConflict");
    let policy = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    assert_eq!(
        db.iam.attach_policy(&root, EntityKind::User, "nobody", policy).await.unwrap_err().code(),
        "NoSuchEntity"
    );
    db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    assert_eq!(db.iam.create_access_key(&root, Some("alice")).await.unwrap_err().code(), "LimitExceeded");
    let events = db.iam.audit_events(&root, None, None, 50).await.unwrap();
    let outcome = |action: &str, outcome: &str| events.iter().any(|e| e.action == action && e.outcome == outcome);
    assert!(outcome("iam:DeleteGroup", "DeleteConflict"), "{events:#?}");
    assert!(outcome("iam:AttachUserPolicy", "NoSuchEntity"));
    assert!(outcome("iam:CreateAccessKey", "LimitExceeded"));
    let failed = events.iter().find(|e| e.outcome == "DeleteConflict").unwrap();
    assert_eq!(failed.request_id.as_deref(), Some("req-1"), "with the request's id");
    assert!(failed.parameters.contains("team"), "and its parameters: {}", failed.parameters);
    // A success is recorded once, as before.
    assert_eq!(events.iter().filter(|e| e.action == "iam:AddUserToGroup").count(), 1);
});
