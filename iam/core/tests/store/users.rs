use iam_core::users::{CreateUser, ListUsers};
use iam_core::{Password, Principal};

use crate::harness::caller;
use crate::on_both;

fn named(name: &str) -> CreateUser {
    CreateUser { user_name: name.into(), ..Default::default() }
}

on_both!(users_are_created_read_listed_and_deleted, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let created = db
        .iam
        .create_user(
            &root,
            CreateUser {
                user_name: "alice".into(),
                path: Some("/engineering/".into()),
                tags: vec![("team".into(), "platform".into()), ("cost-center".into(), "42".into())],
                permissions_boundary: None,
            },
        )
        .await
        .unwrap();
    assert!(created.user_id.starts_with("AIDA"));
    assert_eq!(created.arn, format!("arn:aws:iam::{account}:user/engineering/alice"));
    let got = db.iam.get_user(&root, "ALICE").await.unwrap();
    assert_eq!(got, created, "a user reads back as created, tags in order");
    assert_eq!(got.create_date.to_iso8601(), "2026-11-28T09:00:00Z");

    let listed = db.iam.list_users(&root, ListUsers::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(!listed.is_truncated);
    assert!(listed.items[0].tags.is_empty(), "ListUsers carries no tags, as in AWS");

    db.iam.delete_user(&root, "alice").await.unwrap();
    assert_eq!(db.iam.get_user(&root, "alice").await.unwrap_err().code(), "NoSuchEntity");
    assert_eq!(db.iam.delete_user(&root, "alice").await.unwrap_err().code(), "NoSuchEntity");
    // The tags went with the user: a new user of the same name starts bare.
    db.iam.create_user(&root, named("alice")).await.unwrap();
    assert!(db.iam.get_user(&root, "alice").await.unwrap().tags.is_empty());

    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    let changes: Vec<_> =
        events.iter().filter(|e| e.outcome != "Allowed").map(|e| (e.action.as_str(), e.outcome.as_str())).collect();
    assert_eq!(
        changes,
        [
            ("iam:CreateUser", "Success"),
            ("iam:DeleteUser", "NoSuchEntity"),
            ("iam:DeleteUser", "Success"),
            ("iam:CreateUser", "Success"),
            ("portcullis:CreateAccount", "Success"),
        ]
    );
    // Reads are logged too, as allowed, in batches (the query writes what is waiting first).
    let reads: Vec<_> = events.iter().filter(|e| e.outcome == "Allowed").map(|e| e.action.as_str()).collect();
    assert_eq!(reads, ["cloudtrail:LookupEvents", "iam:GetUser", "iam:GetUser", "iam:ListUsers", "iam:GetUser"]);
    let create = events.iter().find(|e| e.action == "iam:CreateUser").unwrap();
    assert_eq!(create.source_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(create.channel, "console:test-session");
    assert_eq!(create.principal_arn, format!("arn:aws:iam::{account}:root"));
});

on_both!(names_are_unique_ignoring_case_even_under_races, |db| {
    let root = db.with_account().await;
    db.iam.create_user(&root, named("Bob")).await.unwrap();
    let dup = db.iam.create_user(&root, named("bob")).await.unwrap_err();
    assert_eq!(dup.code(), "EntityAlreadyExists");
    assert_eq!(dup.message(), "User with name bob already exists.");

    let (a, b) = tokio::join!(db.iam.create_user(&root, named("carol")), db.iam.create_user(&root, named("CAROL")));
    let outcomes = [a.map(|_| "ok").unwrap_or_else(|e| e.code()), b.map(|_| "ok").unwrap_or_else(|e| e.code())];
    let mut sorted = outcomes;
    sorted.sort_unstable();
    assert_eq!(sorted, ["EntityAlreadyExists", "ok"]);
});

on_both!(bad_input_is_refused_with_aws_codes, |db| {
    let root = db.with_account().await;
    for (input, code) in [
        (named(""), "ValidationError"),
        (named("has space"), "ValidationError"),
        (named(&"x".repeat(65)), "ValidationError"),
        (
            CreateUser { user_name: "a".into(), path: Some("nope".into()), tags: vec![], permissions_boundary: None },
            "ValidationError",
        ),
        (
            CreateUser {
                user_name: "a".into(),
                path: None,
                tags: vec![("aws:x".into(), "y".into())],
                permissions_boundary: None,
            },
            "InvalidInput",
        ),
        (
            CreateUser {
                user_name: "a".into(),
                path: None,
                tags: (0..51).map(|i| (format!("k{i}"), String::new())).collect(),
                permissions_boundary: None,
            },
            "LimitExceeded",
        ),
    ] {
        assert_eq!(db.iam.create_user(&root, input.clone()).await.unwrap_err().code(), code, "{input:?}");
    }
    let listed = db.iam.list_users(&root, ListUsers::default()).await.unwrap();
    assert!(listed.items.is_empty(), "nothing was written");
    assert_eq!(
        db.iam
            .list_users(&root, ListUsers { marker: Some("%%%".into()), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        "InvalidInput"
    );
    assert_eq!(
        db.iam.list_users(&root, ListUsers { max_items: Some(0), ..Default::default() }).await.unwrap_err().code(),
        "ValidationError"
    );
});

on_both!(listing_pages_filters_and_prefixes, |db| {
    let root = db.with_account().await;
    for (name, path) in [
        ("ann", "/"),
        ("ben", "/ops/"),
        ("cid", "/ops/team/"),
        ("dora", "/"),
        ("eve", "/ops/"),
        ("fay", "/"),
        ("gil", "/"),
    ] {
        db.iam
            .create_user(
                &root,
                CreateUser {
                    user_name: name.into(),
                    path: Some(path.into()),
                    tags: vec![],
                    permissions_boundary: None,
                },
            )
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let page = db
            .iam
            .list_users(&root, ListUsers { max_items: Some(3), marker: marker.clone(), ..Default::default() })
            .await
            .unwrap();
        pages += 1;
        names.extend(page.items.iter().map(|u| u.user_name.clone()));
        if !page.is_truncated {
            assert!(page.marker.is_none());
            break;
        }
        marker = page.marker;
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["ann", "ben", "cid", "dora", "eve", "fay", "gil"]);

    let ops =
        db.iam.list_users(&root, ListUsers { path_prefix: Some("/ops/".into()), ..Default::default() }).await.unwrap();
    let ops: Vec<_> = ops.items.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(ops, ["ben", "cid", "eve"]);
    let upper =
        db.iam.list_users(&root, ListUsers { path_prefix: Some("/OPS/".into()), ..Default::default() }).await.unwrap();
    assert!(upper.items.is_empty(), "path prefixes are case-sensitive");

    let search =
        db.iam.list_users(&root, ListUsers { name_contains: Some("E".into()), ..Default::default() }).await.unwrap();
    let found: Vec<_> = search.items.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(found, ["ben", "eve"]);
    let wildcard =
        db.iam.list_users(&root, ListUsers { name_contains: Some("%".into()), ..Default::default() }).await.unwrap();
    assert!(wildcard.items.is_empty(), "LIKE wildcards in the search are literal");
});

on_both!(the_console_reads_one_page_of_users_in_any_order, |db| {
    use iam_core::sign_in::SignIn;
    use iam_core::users::{UserOrder, UsersQuery};
    let root = db.with_account().await;
    let account_id = root.account_id().to_owned();
    // Made in this order, a second apart: creation order is not name order.
    for (name, path) in [("dora", "/"), ("Ben", "/ops/"), ("ann", "/Ops/team/"), ("eve", "/"), ("cid", "/a/")] {
        db.iam
            .create_user(&root, CreateUser { user_name: name.into(), path: Some(path.into()), ..Default::default() })
            .await
            .unwrap();
        db.clock.advance_millis(1000);
    }
    // eve signs in, then cid; the others never do.
    for name in ["eve", "cid"] {
        db.iam.create_login_profile(&root, name, &Password::new("Console-password-1"), false).await.unwrap();
        let attempt = SignIn::User {
            account: account_id.clone(),
            user_name: name.into(),
            password: Password::new("Console-password-1"),
        };
        db.iam.sign_in(&attempt, &Default::default()).await.unwrap();
        db.clock.advance_millis(1000);
    }
    let root_ref = &root;
    let read = |order, descending, page, page_size, filter: &str| {
        let query = UsersQuery { name_contains: Some(filter.to_owned()), order, descending, page, page_size };
        async move {
            let page = db.iam.users_page(root_ref, query).await.unwrap();
            let names: Vec<String> = page.users.iter().map(|u| u.user_name.clone()).collect();
            (names, page.total, page.page, page.pages)
        }
    };
    assert_eq!(read(UserOrder::Name, false, 1, 100, "").await.0, ["ann", "Ben", "cid", "dora", "eve"]);
    assert_eq!(read(UserOrder::Name, true, 1, 100, "").await.0, ["eve", "dora", "cid", "Ben", "ann"]);
    assert_eq!(read(UserOrder::Path, false, 1, 100, "").await.0, ["dora", "eve", "cid", "Ben", "ann"]);
    assert_eq!(read(UserOrder::Created, false, 1, 100, "").await.0, ["dora", "Ben", "ann", "eve", "cid"]);
    assert_eq!(read(UserOrder::Created, true, 1, 100, "").await.0, ["cid", "eve", "ann", "Ben", "dora"]);
    // Never signed in sorts as the oldest, by name among themselves.
    assert_eq!(read(UserOrder::ConsoleSignIn, false, 1, 100, "").await.0, ["ann", "Ben", "dora", "eve", "cid"]);
    assert_eq!(read(UserOrder::ConsoleSignIn, true, 1, 100, "").await.0, ["cid", "eve", "dora", "Ben", "ann"]);

    // Pages of two: the count is of every page; past the end reads the last page.
    assert_eq!(read(UserOrder::Name, false, 2, 2, "").await, (vec!["cid".into(), "dora".into()], 5, 2, 3));
    assert_eq!(read(UserOrder::Name, false, 9, 2, "").await, (vec!["eve".into()], 5, 3, 3));
    assert_eq!(read(UserOrder::Name, false, 0, 2, "").await, (vec!["ann".into(), "Ben".into()], 5, 1, 3));
    // The filter ignores case, its wildcards are literal, and counts what it keeps.
    assert_eq!(read(UserOrder::Name, false, 1, 100, "E").await, (vec!["Ben".into(), "eve".into()], 2, 1, 1));
    assert_eq!(read(UserOrder::Name, false, 1, 100, "_").await, (vec![], 0, 1, 1));

    // Byte order, whatever the database's locale: '-' < '.' < digits < '_' < letters (names are
    // compared lower-cased). A locale's order would put `a_c` or `ab` first.
    for name in ["a_c", "ab", "a-b", "a.b", "a1"] {
        db.iam.create_user(&root, CreateUser { user_name: name.into(), ..Default::default() }).await.unwrap();
    }
    assert_eq!(read(UserOrder::Name, false, 1, 100, "a").await.0, ["a-b", "a.b", "a1", "a_c", "ab", "ann", "dora"]);

    let too_big = UsersQuery { page_size: 1001, ..Default::default() };
    assert_eq!(db.iam.users_page(&root, too_big).await.unwrap_err().code(), "ValidationError");

    // Authorized as ListUsers: a user without it is refused, whatever the page.
    let ben = db.iam.get_user(&root, "ben").await.unwrap();
    let as_ben = caller(Principal::User {
        account_id: account_id.clone(),
        user_id: ben.user_id.clone(),
        user_name: ben.user_name.clone(),
        path: ben.path.clone(),
    });
    let refused = db.iam.users_page(&as_ben, UsersQuery { page: 1, page_size: 20, ..Default::default() }).await;
    assert_eq!(refused.unwrap_err().code(), "AccessDenied");
});

on_both!(iam_users_are_denied_and_the_denial_is_audited, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let bob = db
        .iam
        .create_user(
            &root,
            CreateUser {
                user_name: "bob".into(),
                path: Some("/ops/".into()),
                tags: vec![],
                permissions_boundary: None,
            },
        )
        .await
        .unwrap();
    let as_bob = caller(Principal::User {
        account_id: account.clone(),
        user_id: bob.user_id.clone(),
        user_name: "bob".into(),
        path: "/ops/".into(),
    });
    let denied = db.iam.create_user(&as_bob, named("mallory")).await.unwrap_err();
    assert_eq!(
        denied.message(),
        format!(
            "User: arn:aws:iam::{account}:user/ops/bob is not authorized to perform: iam:CreateUser on resource: \
             arn:aws:iam::{account}:user/mallory because no identity-based policy allows the iam:CreateUser action"
        )
    );
    assert_eq!(db.iam.list_users(&as_bob, ListUsers::default()).await.unwrap_err().code(), "AccessDenied");
    // A denied caller learns nothing about existence: the same code for a real and a missing user.
    assert_eq!(db.iam.get_user(&as_bob, "bob").await.unwrap_err().code(), "AccessDenied");
    assert_eq!(db.iam.get_user(&as_bob, "ghost").await.unwrap_err().code(), "AccessDenied");
    assert_eq!(db.iam.delete_user(&as_bob, "bob").await.unwrap_err().code(), "AccessDenied");
    assert!(db.iam.get_user(&root, "bob").await.is_ok(), "the denied delete changed nothing");

    let events = db.iam.audit_events(&root, Some(&bob.arn), None, 100).await.unwrap();
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.outcome == "AccessDenied"));
    assert_eq!(events.last().unwrap().action, "iam:CreateUser");
});

on_both!(console_passwords_block_deletion_until_removed, |db| {
    let root = db.with_account().await;
    db.iam.create_user(&root, named("dave")).await.unwrap();
    let weak = db.iam.create_login_profile(&root, "dave", &Password::new("weak"), false).await.unwrap_err();
    assert_eq!(weak.code(), "PasswordPolicyViolation");
    let profile = db.iam.create_login_profile(&root, "dave", &Password::new("Dave-password-1"), true).await.unwrap();
    assert!(profile.password_reset_required);
    let again = db.iam.create_login_profile(&root, "dave", &Password::new("Dave-password-1"), true).await.unwrap_err();
    assert_eq!(again.code(), "EntityAlreadyExists");
    assert_eq!(
        db.iam.create_login_profile(&root, "nobody", &Password::new("Dave-password-1"), true).await.unwrap_err().code(),
        "NoSuchEntity"
    );

    let conflict = db.iam.delete_user(&root, "dave").await.unwrap_err();
    assert_eq!(conflict.code(), "DeleteConflict");
    assert!(db.iam.get_user(&root, "dave").await.unwrap().has_login_profile);

    let dave = db.iam.get_user(&root, "dave").await.unwrap();
    let session = Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: dave.user_id.clone(),
        user_name: "dave".into(),
        path: "/".into(),
    };
    assert!(db.iam.current_principal(&session).await.unwrap().is_some());
    db.iam.delete_login_profile(&root, "dave").await.unwrap();
    assert!(db.iam.current_principal(&session).await.unwrap().is_none(), "losing the password ends console sessions");
    assert_eq!(db.iam.delete_login_profile(&root, "dave").await.unwrap_err().code(), "NoSuchEntity");
    db.iam.delete_user(&root, "dave").await.unwrap();
    db.clock.advance_millis(1000);
    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    let profile_event = events.iter().find(|e| e.action == "iam:CreateLoginProfile" && e.outcome == "Success").unwrap();
    assert!(!profile_event.parameters.contains("Dave-password-1"), "no secret in the audit log");
});

on_both!(deleting_a_user_with_everything_is_all_or_nothing, |db| {
    use iam_core::entities::EntityKind;
    use iam_core::{Password, Principal};
    let root = db.with_account().await;
    db.iam.create_user(&root, named("alice")).await.unwrap();
    db.iam.create_login_profile(&root, "alice", &Password::new("Alice-password-1"), false).await.unwrap();
    db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    db.iam.create_group(&root, "team", None).await.unwrap();
    db.iam.add_user_to_group(&root, "team", "alice").await.unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Read", doc).await.unwrap();
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    db.iam.attach_policy(&root, EntityKind::User, "alice", read_only).await.unwrap();
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&device.base32_string_seed).unwrap())
        .with_account_name("t")
        .build()
        .unwrap();
    let now = u64::try_from(db.iam.now().as_millis() / 1000).unwrap();
    let (c1, c2) = (totp.generate(now - 30).to_string(), totp.generate(now).to_string());
    db.iam.enable_mfa_device(&root, Some("alice"), &device.serial_number, &c1, &c2).await.unwrap();

    // A delegate allowed every step but one changes nothing at all.
    let bob = db.iam.create_user(&root, named("bob")).await.unwrap();
    let bob = crate::harness::caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: bob.user_id,
        user_name: "bob".into(),
        path: "/".into(),
    });
    let almost = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:DeleteUser",
        "iam:DeleteLoginProfile","iam:DeleteAccessKey","iam:DeactivateMFADevice","iam:DeleteVirtualMFADevice",
        "iam:RemoveUserFromGroup",
        "iam:DeleteUserPolicy"],"Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Almost", almost).await.unwrap();
    let refused = db.iam.delete_user_and_dependents(&bob, "alice").await.unwrap_err();
    assert_eq!(refused.code(), "AccessDenied");
    assert!(refused.message().contains("iam:DetachUserPolicy"), "{refused}");
    assert!(db.iam.get_login_profile(&root, "alice").await.is_ok(), "nothing was removed");
    assert_eq!(db.iam.list_access_keys(&root, Some("alice")).await.unwrap().len(), 1);

    // With every step allowed, everything goes, in one change.
    db.iam.delete_user_and_dependents(&root, "alice").await.unwrap();
    assert_eq!(db.iam.get_user(&root, "alice").await.unwrap_err().code(), "NoSuchEntity");
    assert!(db.iam.list_entities_for_policy(&root, read_only).await.unwrap().users.is_empty());
    assert!(db.iam.get_group(&root, "team").await.unwrap().users.is_empty());
    let devices = db.iam.list_virtual_mfa_devices(&root, iam_core::mfa::AssignmentStatus::Any).await.unwrap();
    assert!(devices.is_empty(), "the virtual device went with its user, as in AWS's console");
    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    for action in [
        "iam:DeleteLoginProfile",
        "iam:DeleteAccessKey",
        "iam:DeactivateMFADevice",
        "iam:DeleteVirtualMFADevice",
        "iam:RemoveUserFromGroup",
        "iam:DeleteUserPolicy",
        "iam:DetachUserPolicy",
        "iam:DeleteUser",
    ] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "Success"), "{action} audited");
    }
});

on_both!(the_users_list_columns_are_read_in_bulk_each_under_its_own_action, |db| {
    use iam_core::entities::EntityKind;
    let root = db.with_account().await;
    let ann = crate::policies::user(db, &root, "ann", &[]).await;
    crate::policies::user(db, &root, "ben", &[]).await;
    db.iam.create_group(&root, "ops", None).await.unwrap();
    db.iam.create_group(&root, "devs", None).await.unwrap();
    db.iam.add_user_to_group(&root, "ops", "ben").await.unwrap();
    db.iam.add_user_to_group(&root, "devs", "ben").await.unwrap();
    db.iam.create_login_profile(&root, "ben", &Password::new("Ben-password-long-9!"), false).await.unwrap();
    let first = db.iam.create_access_key(&root, Some("ben")).await.unwrap();
    db.iam.record_access_key_use(&first.access_key_id, "us-east-1", "iam").await.unwrap();
    let second = db.iam.create_access_key(&root, Some("ben")).await.unwrap();
    let phone = db.iam.create_virtual_mfa_device(&root, "ben-phone", None).await.unwrap();
    let seed = phone.base32_string_seed.clone();
    let (c1, c2) = (crate::mfa::code(db, &seed, -1), crate::mfa::code(db, &seed, 0));
    db.iam.enable_mfa_device(&root, Some("ben"), &phone.serial_number, &c1, &c2).await.unwrap();
    db.iam.create_virtual_mfa_device(&root, "not-enabled", None).await.unwrap();
    db.iam
        .update_access_key(&root, Some("ben"), &second.access_key_id, iam_core::access_keys::KeyStatus::Inactive)
        .await
        .unwrap();
    let users = db.iam.list_users(&root, ListUsers::default()).await.unwrap().items;
    let names: Vec<&str> = users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["ann", "ben"]);

    let columns = db.iam.user_list_columns(&root, &users).await.unwrap();
    let (a, b) = (&columns[0], &columns[1]);
    assert_eq!((a.groups.clone().unwrap(), b.groups.clone().unwrap()), (0, 2));
    assert_eq!(a.password_changed.clone().unwrap(), None);
    assert!(b.password_changed.clone().unwrap().is_some());
    assert_eq!(b.active_keys.clone().unwrap().len(), 1, "the inactive key is not counted");
    assert_eq!(b.mfa.clone().unwrap(), ["totp"], "only devices in use count");
    assert!(a.mfa.clone().unwrap().is_empty());
    assert!(b.keys_last_used.clone().unwrap().is_some(), "the used key's last use");
    assert_eq!(a.keys_last_used.clone().unwrap(), None);

    // A delegate sees only the columns its policies allow; the others carry AWS's refusal.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListGroupsForUser","iam:GetAccessKeyLastUsed"],"Resource":"*"},
        {"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"arn:aws:iam::*:user/ann"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "ann", "Lists", policy).await.unwrap();
    let columns = db.iam.user_list_columns(&ann, &users).await.unwrap();
    assert_eq!(columns[1].groups.clone().unwrap(), 2);
    assert_eq!(columns[1].mfa.clone().unwrap_err().code(), "AccessDenied");
    assert_eq!(columns[1].password_changed.clone().unwrap_err().code(), "AccessDenied");
    assert!(columns[0].active_keys.is_ok(), "ann may list her own keys");
    assert_eq!(columns[1].active_keys.clone().unwrap_err().code(), "AccessDenied");
    // A key's last use is asked only of keys the caller may list, as AWS's console needs the key's
    // id to ask: allowed GetAccessKeyLastUsed alone, ann learns nothing of ben's keys.
    assert_eq!(columns[1].keys_last_used.clone().unwrap_err().code(), "AccessDenied");
    let events = db.iam.audit_events(&root, None, None, 500).await.unwrap();
    let refused = |action: &str| events.iter().filter(|e| e.action == action && e.outcome == "AccessDenied").count();
    assert_eq!(refused("iam:ListMFADevices"), 2, "each refused cell is on record");
    assert_eq!(refused("iam:GetAccessKeyLastUsed"), 0, "no read the console would not have made");
    assert!(db.iam.user_list_columns(&root, &[]).await.unwrap().is_empty());
});
