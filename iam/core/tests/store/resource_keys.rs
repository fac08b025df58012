//! The keys AWS supplies from the request's target and its parameters: the target's tags
//! (`aws:ResourceTag/*`, `iam:ResourceTag/*`), its permissions boundary (`iam:PermissionsBoundary`)
//! on the actions IAM's Service Authorization Reference lists, and the tagging permission that
//! tags set at creation need.

use iam_core::entities::EntityKind;
use iam_core::policies::CreatePolicy;
use iam_core::roles::CreateRole;
use iam_core::tagging::Taggable;
use iam_core::users::CreateUser;

use crate::on_both;
use crate::policies::{allow, managed, user};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn denied<T: std::fmt::Debug>(result: Result<T, iam_core::IamError>) -> bool {
    matches!(&result, Err(e) if e.code() == "AccessDenied")
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

on_both!(a_guardrail_on_resource_tags_protects_tagged_users_roles_policies_and_devices, |db| {
    let root = db.with_account().await;
    let admin = user(db, &root, "admin", &[]).await;
    // Everything in IAM, except on whatever is tagged protected=true.
    let guarded = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iam:*","Resource":"*"},
        {"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/protected":"true"}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "admin", "Guarded", guarded).await.unwrap();
    user(db, &root, "vip", &[("protected", "true")]).await;
    user(db, &root, "intern", &[]).await;
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

    // A protected user: reads, attachments, keys, tags, renames are all refused.
    assert!(denied(db.iam.get_user(&admin, "vip").await));
    assert!(denied(db.iam.attach_policy(&admin, EntityKind::User, "vip", read_only).await));
    assert!(denied(db.iam.create_access_key(&admin, Some("vip")).await));
    assert!(denied(db.iam.untag(&admin, Taggable::User("vip"), &["protected".to_owned()]).await));
    assert!(denied(db.iam.delete_user(&admin, "vip").await));
    assert!(denied(db.iam.update_user(&admin, "vip", Some("vip2"), None).await));
    // The same calls on an untagged user go through.
    db.iam.get_user(&admin, "intern").await.unwrap();
    db.iam.attach_policy(&admin, EntityKind::User, "intern", read_only).await.unwrap();
    db.iam.create_access_key(&admin, Some("intern")).await.unwrap();

    // A protected role.
    let role = |name: &str, tags| CreateRole {
        role_name: name.into(),
        assume_role_policy_document: TRUST.into(),
        tags,
        ..Default::default()
    };
    db.iam.create_role(&root, role("vault", self::tags(&[("protected", "true")]))).await.unwrap();
    db.iam.create_role(&root, role("worker", Vec::new())).await.unwrap();
    assert!(denied(db.iam.update_role_description(&admin, "vault", "mine now").await));
    assert!(denied(db.iam.update_assume_role_policy(&admin, "vault", TRUST).await));
    assert!(denied(
        db.iam.put_inline_policy(&admin, EntityKind::Role, "vault", "P", &allow(r#""s3:*""#, r#""*""#)).await
    ));
    db.iam.update_role_description(&admin, "worker", "fine").await.unwrap();

    // A protected customer managed policy: no new version can widen it.
    let doc = allow(r#""s3:GetObject""#, r#""*""#);
    let input = CreatePolicy {
        policy_name: "Baseline".into(),
        policy_document: doc.clone(),
        tags: tags(&[("protected", "true")]),
        ..Default::default()
    };
    let baseline = db.iam.create_policy(&root, input).await.unwrap().arn;
    assert!(denied(db.iam.create_policy_version(&admin, &baseline, &allow(r#""*""#, r#""*""#), true).await));
    assert!(denied(db.iam.get_policy(&admin, &baseline).await));
    let plain = managed(db, &root, "Plain", &doc).await;
    db.iam.create_policy_version(&admin, &plain, &doc, true).await.unwrap();

    // A protected MFA device (aws:ResourceTag only: IAM has no iam:ResourceTag for devices).
    let device = db.iam.create_virtual_mfa_device(&root, "vip-phone", None).await.unwrap().serial_number;
    db.iam.tag(&root, Taggable::MfaDevice(&device), &tags(&[("protected", "true")])).await.unwrap();
    assert!(denied(db.iam.list_tags(&admin, Taggable::MfaDevice(&device)).await));
    assert!(denied(db.iam.untag(&admin, Taggable::MfaDevice(&device), &["protected".to_owned()]).await));
    let other = db.iam.create_virtual_mfa_device(&root, "spare", None).await.unwrap().serial_number;
    db.iam.list_tags(&admin, Taggable::MfaDevice(&other)).await.unwrap();

    // Taking the tag off (as root) lifts the guardrail at once.
    db.iam.untag(&root, Taggable::User("vip"), &["protected".to_owned()]).await.unwrap();
    db.iam.get_user(&admin, "vip").await.unwrap();
});

on_both!(abac_grants_on_resource_tags_match_the_principal_tags, |db| {
    let root = db.with_account().await;
    // Each team lead may manage the users of their own team, named by tags on both sides.
    let abac = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":["iam:GetUser","iam:ListUserTags","iam:AttachUserPolicy"],"Resource":"*",
        "Condition":{"StringEquals":{"iam:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}"#;
    let lead = user(db, &root, "blue-lead", &[("team", "blue")]).await;
    db.iam.put_inline_policy(&root, EntityKind::User, "blue-lead", "Abac", abac).await.unwrap();
    user(db, &root, "blue-dev", &[("team", "blue")]).await;
    user(db, &root, "red-dev", &[("team", "red")]).await;
    user(db, &root, "untagged", &[]).await;
    db.iam.get_user(&lead, "blue-dev").await.unwrap();
    db.iam.list_tags(&lead, Taggable::User("blue-dev")).await.unwrap();
    db.iam
        .attach_policy(&lead, EntityKind::User, "blue-dev", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    assert!(denied(db.iam.get_user(&lead, "red-dev").await));
    assert!(denied(db.iam.get_user(&lead, "untagged").await));
    // Retagging the target moves it out of reach on the next request.
    db.iam.tag(&root, Taggable::User("blue-dev"), &tags(&[("team", "red")])).await.unwrap();
    assert!(denied(db.iam.get_user(&lead, "blue-dev").await));
});

on_both!(a_delegated_administrator_works_only_within_the_company_boundary, |db| {
    // AWS's documented delegation: the administrator may create users and change their policies
    // only if they carry the company boundary, and can neither remove it nor edit it.
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let boundary = managed(db, &root, "CompanyBoundary", &allow(r#"["s3:*","iam:GetUser"]"#, r#""*""#)).await;
    let other = managed(db, &root, "Wider", &allow(r#""*""#, r#""*""#)).await;
    let delegation = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"CreateOrChangeOnlyWithBoundary","Effect":"Allow",
          "Action":["iam:CreateUser","iam:DeleteUserPolicy","iam:AttachUserPolicy","iam:DetachUserPolicy",
                    "iam:PutUserPermissionsBoundary","iam:PutUserPolicy"],
          "Resource":"*","Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{boundary}"}}}}}},
        {{"Sid":"OtherIamTasks","Effect":"Allow","Action":["iam:GetUser","iam:ListUsers","iam:GetPolicy"],"Resource":"*"}},
        {{"Sid":"NoBoundaryPolicyEdit","Effect":"Deny",
          "Action":["iam:CreatePolicyVersion","iam:DeletePolicy","iam:DeletePolicyVersion","iam:SetDefaultPolicyVersion"],
          "Resource":"arn:aws:iam::{account}:policy/CompanyBoundary"}},
        {{"Sid":"NoBoundaryUserDelete","Effect":"Deny","Action":"iam:DeleteUserPermissionsBoundary","Resource":"*"}}]}}"#
    );
    let delegate = user(db, &root, "delegate", &[]).await;
    db.iam.put_inline_policy(&root, EntityKind::User, "delegate", "Delegation", &delegation).await.unwrap();
    let create = |name: &str, boundary: Option<&str>| CreateUser {
        user_name: name.into(),
        permissions_boundary: boundary.map(str::to_owned),
        ..Default::default()
    };
    let inline = allow(r#""s3:GetObject""#, r#""*""#);
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

    // What it can do: create a user with the boundary, then manage that user's policies.
    let made = db.iam.create_user(&delegate, create("hire", Some(&boundary))).await.unwrap();
    assert_eq!(made.permissions_boundary_arn.as_deref(), Some(boundary.as_str()));
    assert_eq!(db.iam.get_user(&root, "hire").await.unwrap().permissions_boundary_arn, Some(boundary.clone()));
    db.iam.put_inline_policy(&delegate, EntityKind::User, "hire", "Work", &inline).await.unwrap();
    db.iam.attach_policy(&delegate, EntityKind::User, "hire", read_only).await.unwrap();
    db.iam.detach_policy(&delegate, EntityKind::User, "hire", read_only).await.unwrap();
    db.iam.delete_inline_policy(&delegate, EntityKind::User, "hire", "Work").await.unwrap();
    db.iam.put_permissions_boundary(&delegate, EntityKind::User, "hire", &boundary).await.unwrap();

    // What it cannot: users without the boundary or with another, changes to users outside it,
    // removing or swapping the boundary, editing the boundary policy.
    assert!(denied(db.iam.create_user(&delegate, create("free", None)).await));
    assert!(denied(db.iam.create_user(&delegate, create("wide", Some(&other))).await));
    user(db, &root, "outsider", &[]).await;
    assert!(denied(db.iam.put_inline_policy(&delegate, EntityKind::User, "outsider", "Work", &inline).await));
    assert!(denied(db.iam.attach_policy(&delegate, EntityKind::User, "outsider", read_only).await));
    assert!(denied(db.iam.put_permissions_boundary(&delegate, EntityKind::User, "hire", &other).await));
    assert!(denied(db.iam.delete_permissions_boundary(&delegate, EntityKind::User, "hire").await));
    assert!(denied(db.iam.create_policy_version(&delegate, &boundary, &allow(r#""*""#, r#""*""#), true).await));
    // A user whose boundary root swapped is out of the delegate's reach.
    db.iam.put_permissions_boundary(&root, EntityKind::User, "hire", &other).await.unwrap();
    assert!(denied(db.iam.attach_policy(&delegate, EntityKind::User, "hire", read_only).await));
    // Role actions carry the role's current boundary the same way.
    let roles = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:AttachRolePolicy","iam:PutRolePolicy",
            "iam:DeleteRolePermissionsBoundary"],"Resource":"*",
            "Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{boundary}"}}}}}}]}}"#
    );
    db.iam.put_inline_policy(&root, EntityKind::User, "delegate", "Roles", &roles).await.unwrap();
    let role = |name: &str, boundary: Option<&str>| CreateRole {
        role_name: name.into(),
        assume_role_policy_document: TRUST.into(),
        permissions_boundary: boundary.map(str::to_owned),
        ..Default::default()
    };
    db.iam.create_role(&root, role("fenced", Some(&boundary))).await.unwrap();
    db.iam.create_role(&root, role("open", None)).await.unwrap();
    db.iam.attach_policy(&delegate, EntityKind::Role, "fenced", read_only).await.unwrap();
    db.iam.put_inline_policy(&delegate, EntityKind::Role, "fenced", "Work", &inline).await.unwrap();
    assert!(denied(db.iam.attach_policy(&delegate, EntityKind::Role, "open", read_only).await));
    assert!(denied(db.iam.put_inline_policy(&delegate, EntityKind::Role, "open", "Work", &inline).await));

    // And a boundary that does not exist is refused after authorization, as AWS does.
    let missing = format!("arn:aws:iam::{account}:policy/Nope");
    assert_eq!(db.iam.create_user(&root, create("ghost", Some(&missing))).await.unwrap_err().code(), "NoSuchEntity");
});

on_both!(tags_at_creation_need_the_tagging_permission, |db| {
    let root = db.with_account().await;
    let creator = user(db, &root, "creator", &[]).await;
    let create_only = allow(r#"["iam:CreateUser","iam:CreateRole","iam:CreatePolicy"]"#, r#""*""#);
    db.iam.put_inline_policy(&root, EntityKind::User, "creator", "Create", &create_only).await.unwrap();
    let with_tags = |name: &str, pairs: &[(&str, &str)]| CreateUser {
        user_name: name.into(),
        tags: tags(pairs),
        ..Default::default()
    };
    db.iam.create_user(&creator, with_tags("plain", &[])).await.unwrap();
    // Choosing a principal tag (what ABAC grants rest on) is tagging, not just creating.
    assert!(denied(db.iam.create_user(&creator, with_tags("admin-ish", &[("team", "admins")])).await));
    let role = CreateRole {
        role_name: "tagged".into(),
        assume_role_policy_document: TRUST.into(),
        tags: tags(&[("team", "admins")]),
        ..Default::default()
    };
    assert!(denied(db.iam.create_role(&creator, role.clone()).await));
    let policy = CreatePolicy {
        policy_name: "Tagged".into(),
        policy_document: allow(r#""s3:GetObject""#, r#""*""#),
        tags: tags(&[("team", "admins")]),
        ..Default::default()
    };
    assert!(denied(db.iam.create_policy(&creator, policy.clone()).await));

    // Granted for one tag key and value only.
    let tagging = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":["iam:TagUser","iam:TagRole","iam:TagPolicy"],"Resource":"*",
        "Condition":{"StringEquals":{"aws:RequestTag/team":"blue"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "creator", "Tagging", tagging).await.unwrap();
    db.iam.create_user(&creator, with_tags("blue-dev", &[("team", "blue")])).await.unwrap();
    assert!(denied(db.iam.create_user(&creator, with_tags("admin-ish", &[("team", "admins")])).await));
    assert!(denied(db.iam.create_role(&creator, role.clone()).await));
    db.iam.create_role(&creator, CreateRole { tags: tags(&[("team", "blue")]), ..role }).await.unwrap();
    db.iam.create_policy(&creator, CreatePolicy { tags: tags(&[("team", "blue")]), ..policy }).await.unwrap();
    assert_eq!(db.iam.get_user(&root, "blue-dev").await.unwrap().tags.len(), 1);
});

on_both!(tag_keys_that_differ_only_in_unicode_case_are_one_key, |db| {
    let root = db.with_account().await;
    user(db, &root, "alice", &[("Ärger", "1")]).await;
    // Re-tagging with the other case replaces the value: one key, never a failed insert.
    db.iam.tag(&root, Taggable::User("alice"), &tags(&[("ärger", "2")])).await.unwrap();
    let got = db.iam.list_tags(&root, Taggable::User("alice")).await.unwrap();
    assert_eq!(got.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect::<Vec<_>>(), [("Ärger", "2")]);
    let twice =
        CreateUser { user_name: "bob".into(), tags: tags(&[("Ärger", "1"), ("ärger", "2")]), ..Default::default() };
    assert_eq!(db.iam.create_user(&root, twice).await.unwrap_err().code(), "InvalidInput");
    db.iam.untag(&root, Taggable::User("alice"), &["ÄRGER".to_owned()]).await.unwrap();
    assert!(db.iam.list_tags(&root, Taggable::User("alice")).await.unwrap().is_empty());
});

on_both!(resource_tags_read_only_through_a_policy_variable_are_supplied_too, |db| {
    let root = db.with_account().await;
    // The condition tests a principal tag; the resource's tag is read only by the variable.
    let same_team = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*",
        "Condition":{"StringEquals":{"aws:PrincipalTag/team":"${iam:ResourceTag/team}"}}}]}"#;
    let lead = user(db, &root, "lead", &[("team", "blue")]).await;
    db.iam.put_inline_policy(&root, EntityKind::User, "lead", "SameTeam", same_team).await.unwrap();
    user(db, &root, "blue-dev", &[("team", "blue")]).await;
    user(db, &root, "red-dev", &[("team", "red")]).await;
    db.iam.get_user(&lead, "blue-dev").await.unwrap();
    assert!(denied(db.iam.get_user(&lead, "red-dev").await));
});
