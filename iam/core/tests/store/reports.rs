use iam_core::Password;
use iam_core::credential_report::{HEADER, ReportState};
use iam_core::password_policy::UpdatePasswordPolicy;
use iam_core::users::CreateUser;

use crate::on_both;

on_both!(the_credential_report_reads_as_aws_writes_it, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    assert_eq!(db.iam.get_credential_report(&root).await.unwrap_err().code(), "ReportNotPresent");
    for name in ["carol", "alice", "bob,jr"] {
        db.iam.create_user(&root, CreateUser { user_name: name.into(), ..Default::default() }).await.unwrap();
    }
    let policy = UpdatePasswordPolicy { max_password_age: Some(90), ..Default::default() };
    db.iam.update_account_password_policy(&root, policy).await.unwrap();
    db.iam.create_login_profile(&root, "alice", &Password::new("Alice-password-1"), false).await.unwrap();
    let key = db.iam.create_access_key(&root, Some("alice")).await.unwrap();
    db.clock.advance_millis(60_000);
    db.iam.record_access_key_use(&key.access_key_id, "eu-west-1", "iam").await.unwrap();

    assert_eq!(db.iam.generate_credential_report(&root).await.unwrap(), ReportState::Started);
    assert_eq!(
        db.iam.generate_credential_report(&root).await.unwrap(),
        ReportState::Complete,
        "one report per 4 hours"
    );
    let events = db.iam.audit_events(&root, None, None, 20).await.unwrap();
    let states: Vec<&str> =
        events.iter().filter(|e| e.action == "iam:GenerateCredentialReport").map(|e| e.parameters.as_str()).collect();
    assert_eq!(states, [r#"{"State":"COMPLETE"}"#, r#"{"State":"STARTED"}"#], "both calls audited");
    let report = db.iam.get_credential_report(&root).await.unwrap();
    assert_eq!(report.report_format, "text/csv");
    let lines: Vec<&str> = report.content.lines().collect();
    assert_eq!(lines[0], HEADER);
    assert_eq!(lines.len(), 5, "header, root, three users");
    let root_row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(root_row.len(), 22);
    assert_eq!(&root_row[..2], ["<root_account>", format!("arn:aws:iam::{account}:root").as_str()]);
    assert_eq!(&root_row[3..8], ["not_supported", "no_information", "not_supported", "not_supported", "false"]);
    assert_eq!(root_row[8], "false");
    let alice: Vec<&str> = lines[2].split(',').collect();
    let created = "2026-11-28T09:00:00+00:00";
    assert_eq!(
        alice,
        [
            "alice",
            &format!("arn:aws:iam::{account}:user/alice"),
            created,
            "true",
            "no_information",
            created,
            "2027-02-26T09:00:00+00:00",
            "false",
            "true",
            created,
            "2026-11-28T09:01:00+00:00",
            "eu-west-1",
            "iam",
            "false",
            "N/A",
            "N/A",
            "N/A",
            "N/A",
            "false",
            "N/A",
            "false",
            "N/A",
        ]
    );
    assert!(lines[3].starts_with("\"bob,jr\","), "a name with a comma is quoted: {}", lines[3]);
    let carol: Vec<&str> = lines[4].split(',').collect();
    assert_eq!(&carol[3..7], ["false", "N/A", "N/A", "N/A"]);

    // Four hours on, the report has expired and a new one is made.
    db.clock.advance_millis(4 * 60 * 60 * 1000);
    assert_eq!(db.iam.get_credential_report(&root).await.unwrap_err().code(), "ReportExpired");
    assert_eq!(db.iam.generate_credential_report(&root).await.unwrap(), ReportState::Started);
    assert!(db.iam.get_credential_report(&root).await.is_ok());
});

on_both!(access_advisor_shows_granted_services_and_their_last_use, |db| {
    use iam_core::Principal;
    use iam_core::entities::EntityKind;

    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let u = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let alice = crate::harness::caller(Principal::User {
        account_id: account.clone(),
        user_id: u.user_id,
        user_name: "alice".into(),
        path: "/".into(),
    });
    db.iam.create_group(&root, "readers", None).await.unwrap();
    db.iam.add_user_to_group(&root, "readers", "alice").await.unwrap();
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    db.iam.attach_policy(&root, EntityKind::Group, "readers", read_only).await.unwrap();
    let s3 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Reports", s3).await.unwrap();

    let before = db.iam.service_last_accessed(&root, &u.arn).await.unwrap();
    let services: Vec<&str> = before.iter().map(|s| s.service_namespace.as_str()).collect();
    assert_eq!(services, ["s3", "iam"], "granted through the group and inline, by service name");
    assert!(before.iter().all(|s| s.last_authenticated.is_none()), "nothing used yet");

    db.clock.advance_millis(60_000);
    db.iam.list_users(&alice, Default::default()).await.unwrap();
    let used_at = db.iam.now();
    let after = db.iam.service_last_accessed(&root, &u.arn).await.unwrap();
    let iam = after.iter().find(|s| s.service_namespace == "iam").unwrap();
    assert_eq!(iam.service_name, "AWS Identity and Access Management (IAM)");
    assert_eq!(iam.last_authenticated, Some(used_at));
    assert_eq!(iam.last_action.as_deref(), Some("iam:ListUsers"));
    assert_eq!(iam.last_authenticated_entity.as_deref(), Some(u.arn.as_str()));
    assert!(after.iter().find(|s| s.service_namespace == "s3").unwrap().last_authenticated.is_none());

    let group_arn = format!("arn:aws:iam::{account}:group/readers");
    let by_group = db.iam.service_last_accessed(&root, &group_arn).await.unwrap();
    assert_eq!(
        by_group.iter().map(|s| (s.service_namespace.as_str(), s.total_authenticated_entities)).collect::<Vec<_>>(),
        [("iam", 1)]
    );
    let by_policy = db.iam.service_last_accessed(&root, read_only).await.unwrap();
    assert_eq!(by_policy[0].last_authenticated, Some(used_at));
    let b = db.iam.create_user(&root, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    let bob = crate::harness::caller(Principal::User {
        account_id: account.clone(),
        user_id: b.user_id,
        user_name: "bob".into(),
        path: "/".into(),
    });
    assert_eq!(db.iam.service_last_accessed(&bob, read_only).await.unwrap_err().code(), "AccessDenied");
    let missing = format!("arn:aws:iam::{account}:user/nobody");
    assert_eq!(db.iam.service_last_accessed(&root, &missing).await.unwrap_err().code(), "NoSuchEntity");
});
