use iam_core::Principal;
use iam_core::access_keys::KeyStatus;
use iam_core::entities::EntityKind;
use iam_core::users::CreateUser;

use crate::harness::caller;
use crate::on_both;

on_both!(access_keys_are_created_once_listed_disabled_and_deleted, |db| {
    let root = db.with_account().await;
    db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let first = db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    assert!(first.access_key_id.starts_with("AKIA") && first.access_key_id.len() == 20);
    assert_eq!((first.user_name.as_str(), first.status), ("alice", KeyStatus::Active));
    // The store holds the secret sealed, and request signing can read it back.
    let (principal, secret) = db.iam.access_key_secret(&first.access_key_id).await.unwrap().unwrap();
    assert_eq!(secret, first.secret_access_key);
    assert!(matches!(principal, Principal::User { ref user_name, .. } if user_name == "alice"));
    let stored: String = sqlx::query_scalar("SELECT secret_sealed FROM access_keys WHERE access_key_id = $1")
        .bind(&first.access_key_id)
        .fetch_one(db.iam.store().pool())
        .await
        .unwrap();
    assert!(!stored.contains(first.secret_access_key.expose()));
    let events = db.iam.audit_events(&root, None, None, 10).await.unwrap();
    assert!(events.iter().all(|e| !e.parameters.contains(first.secret_access_key.expose())), "no secret in the log");

    let second = db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    let limit = db.iam.create_access_key(&root, Some("alice")).await.unwrap_err();
    assert_eq!(
        (limit.code(), limit.message()),
        ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2".into())
    );
    let listed = db.iam.list_access_keys(&root, Some("alice")).await.unwrap();
    assert_eq!(listed.iter().map(|k| k.access_key_id.as_str()).collect::<Vec<_>>().len(), 2);

    db.iam.update_access_key(&root, Some("alice"), &second.access_key_id, KeyStatus::Inactive).await.unwrap();
    assert!(db.iam.access_key_secret(&second.access_key_id).await.unwrap().is_none(), "inactive keys sign nothing");
    let listed = db.iam.list_access_keys(&root, Some("alice")).await.unwrap();
    assert!(listed.iter().any(|k| k.status == KeyStatus::Inactive));

    let never = db.iam.get_access_key_last_used(&root, &first.access_key_id).await.unwrap();
    assert_eq!((never.last_used_date, never.service_name.as_str(), never.region.as_str()), (None, "N/A", "N/A"));
    db.iam.record_access_key_use(&first.access_key_id, "us-east-1", "iam").await.unwrap();
    let used = db.iam.get_access_key_last_used(&root, &first.access_key_id).await.unwrap();
    assert_eq!((used.service_name.as_str(), used.region.as_str()), ("iam", "us-east-1"));
    assert_eq!(used.last_used_date, Some(db.iam.now()));
    // Only the first use in each 15-minute span is written, as AWS does.
    let first_use = db.iam.now();
    db.clock.advance_millis(10 * 60 * 1000);
    db.iam.record_access_key_use(&first.access_key_id, "eu-west-1", "sts").await.unwrap();
    assert_eq!(
        db.iam.get_access_key_last_used(&root, &first.access_key_id).await.unwrap().last_used_date,
        Some(first_use)
    );
    db.clock.advance_millis(5 * 60 * 1000);
    db.iam.record_access_key_use(&first.access_key_id, "eu-west-1", "sts").await.unwrap();
    let later = db.iam.get_access_key_last_used(&root, &first.access_key_id).await.unwrap();
    assert_eq!((later.last_used_date, later.region.as_str()), (Some(db.iam.now()), "eu-west-1"));

    // Keys block user deletion; a key is only found under its own user.
    assert_eq!(
        db.iam.delete_user(&root, "alice").await.unwrap_err().message(),
        "Cannot delete entity, must delete access keys first."
    );
    db.iam.create_user(&root, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    assert_eq!(
        db.iam.delete_access_key(&root, Some("bob"), &first.access_key_id).await.unwrap_err().code(),
        "NoSuchEntity"
    );
    for key in [&first.access_key_id, &second.access_key_id] {
        db.iam.delete_access_key(&root, Some("alice"), key).await.unwrap();
    }
    assert!(db.iam.access_key_secret(&first.access_key_id).await.unwrap().is_none());
    db.iam.delete_user(&root, "alice").await.unwrap();
    assert_eq!(db.iam.create_access_key(&root, Some("alice")).await.unwrap_err().code(), "NoSuchEntity");
});

on_both!(users_manage_their_own_keys_only_when_allowed, |db| {
    let root = db.with_account().await;
    let u = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let alice = caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: u.user_id.clone(),
        user_name: "alice".into(),
        path: "/".into(),
    });
    assert_eq!(db.iam.create_access_key(&alice, None).await.unwrap_err().code(), "AccessDenied");
    let own = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "OwnKeys", own).await.unwrap();
    let key = db.iam.create_access_key(&alice, None).await.unwrap();
    assert_eq!(key.user_name, "alice");
    assert_eq!(db.iam.list_access_keys(&alice, None).await.unwrap().len(), 1);
    db.iam.create_user(&root, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    assert_eq!(db.iam.create_access_key(&alice, Some("bob")).await.unwrap_err().code(), "AccessDenied");
    // The root user's own keys.
    let root_key = db.iam.create_access_key(&root, None).await.unwrap();
    assert_eq!(root_key.user_name, "<root_account>");
    let (principal, _) = db.iam.access_key_secret(&root_key.access_key_id).await.unwrap().unwrap();
    assert_eq!(principal, Principal::Root { account_id: root.account_id().to_owned() });
});
