//! The well-known IAM privilege-escalation paths, each run twice: once where the granting policy
//! allows the path (it works, as in AWS: these are permissions to guard, not bugs), and once where
//! a boundary, a condition or a deny is meant to stop it (it is stopped). Later features must keep
//! this table passing.

use iam_core::accounts::SignIn;
use iam_core::entities::EntityKind;
use iam_core::policies::CreatePolicy;
use iam_core::roles::CreateRole;
use iam_core::users::CreateUser;
use iam_core::{Caller, Password};

use crate::harness::TestDb;
use crate::on_both;
use crate::policies::{allow, managed, user};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    CreatePolicyVersion,
    SetDefaultPolicyVersion,
    AttachUserPolicy,
    AttachGroupPolicy,
    PutUserPolicy,
    PutGroupPolicy,
    AddUserToGroup,
    CreateAccessKeyForAnother,
    CreateLoginProfileForAnother,
    UpdateLoginProfileForAnother,
    UpdateAssumeRolePolicy,
    DeleteUserPermissionsBoundary,
}

const PATHS: [Path; 12] = [
    Path::CreatePolicyVersion,
    Path::SetDefaultPolicyVersion,
    Path::AttachUserPolicy,
    Path::AttachGroupPolicy,
    Path::PutUserPolicy,
    Path::PutGroupPolicy,
    Path::AddUserToGroup,
    Path::CreateAccessKeyForAnother,
    Path::CreateLoginProfileForAnother,
    Path::UpdateLoginProfileForAnother,
    Path::UpdateAssumeRolePolicy,
    Path::DeleteUserPermissionsBoundary,
];

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A policy that allows `actions` on every resource, and (when guarded) denies them where the
/// guard says.
fn grant(actions: &str) -> String {
    allow(actions, r#""*""#)
}

fn deny(actions: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":{actions},"Resource":"*"}}]}}"#)
}

/// Whether `who` now holds administrator powers it did not have: it can create users.
async fn is_admin(db: &TestDb, who: &Caller, probe: &str) -> bool {
    db.iam.create_user(who, CreateUser { user_name: probe.into(), ..Default::default() }).await.is_ok()
}

/// Runs one path as a fresh attacker `m{i}`. `guarded`: the stop that should hold is in place.
/// Answers whether the attacker gained what the path leads to.
async fn attempt(db: &TestDb, root: &Caller, i: usize, path: Path, guarded: bool) -> bool {
    let name = format!("m{i}");
    let me = user(db, root, &name, &[]).await;
    let probe = format!("probe{i}");
    let put = |policy: String| {
        let (iam, root, name) = (db.iam.clone(), root.clone(), name.clone());
        async move { iam.put_inline_policy(&root, EntityKind::User, &name, "Grant", &policy).await.unwrap() }
    };
    let guard = |policy: String| {
        let (iam, root, name) = (db.iam.clone(), root.clone(), name.clone());
        async move {
            if guarded {
                iam.put_inline_policy(&root, EntityKind::User, &name, "Guard", &policy).await.unwrap();
            }
        }
    };
    let boundary = |actions: &'static str| {
        let (iam, root, name) = (db.iam.clone(), root.clone(), name.clone());
        async move {
            if guarded {
                let doc = grant(actions);
                let input =
                    CreatePolicy { policy_name: format!("Fence{name}"), policy_document: doc, ..Default::default() };
                let fence = iam.create_policy(&root, input).await.unwrap().arn;
                iam.put_permissions_boundary(&root, EntityKind::User, &name, &fence).await.unwrap();
            }
        }
    };
    match path {
        Path::CreatePolicyVersion => {
            // A policy attached to the attacker, which the attacker may rewrite.
            let own = managed(db, root, &format!("Own{i}"), &grant(r#""iam:GetUser""#)).await;
            db.iam.attach_policy(root, EntityKind::User, &name, &own).await.unwrap();
            put(grant(r#""iam:CreatePolicyVersion""#)).await;
            guard(deny(r#""iam:CreatePolicyVersion""#)).await;
            let _ = db.iam.create_policy_version(&me, &own, &grant(r#""*""#), true).await;
        }
        Path::SetDefaultPolicyVersion => {
            let own = managed(db, root, &format!("Own{i}"), &grant(r#""iam:GetUser""#)).await;
            db.iam.create_policy_version(root, &own, &grant(r#""*""#), false).await.unwrap();
            db.iam.attach_policy(root, EntityKind::User, &name, &own).await.unwrap();
            put(grant(r#""iam:SetDefaultPolicyVersion""#)).await;
            guard(deny(r#""iam:SetDefaultPolicyVersion""#)).await;
            let _ = db.iam.set_default_policy_version(&me, &own, "v2").await;
        }
        Path::AttachUserPolicy => {
            // Guarded by a condition: only read-only IAM policies may be attached.
            let statement = if guarded {
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*",
                    "Condition":{"ArnLike":{"iam:PolicyARN":"arn:aws:iam::aws:policy/IAMRead*"}}}]}"#
                    .to_owned()
            } else {
                grant(r#""iam:AttachUserPolicy""#)
            };
            put(statement).await;
            let _ = db.iam.attach_policy(&me, EntityKind::User, &name, ADMIN).await;
        }
        Path::AttachGroupPolicy => {
            let group = format!("g{i}");
            db.iam.create_group(root, &group, None).await.unwrap();
            db.iam.add_user_to_group(root, &group, &name).await.unwrap();
            put(grant(r#""iam:AttachGroupPolicy""#)).await;
            // Guarded by a condition: never AdministratorAccess.
            guard(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:AttachGroupPolicy","Resource":"*",
                    "Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/AdministratorAccess"}}}]}"#
                    .to_owned(),
            )
            .await;
            let attached = db.iam.attach_policy(&me, EntityKind::Group, &group, ADMIN).await.is_ok();
            let listed = db.iam.list_attached_policies(root, EntityKind::Group, &group).await.unwrap();
            assert_eq!(attached, !listed.is_empty(), "the group holds the policy exactly when the call said so");
        }
        Path::PutUserPolicy => {
            put(grant(r#""iam:PutUserPolicy""#)).await;
            // Guarded by a deny on the attacker's own user.
            let own = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:PutUserPolicy",
                "Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;
            guard(own.to_owned()).await;
            let _ = db.iam.put_inline_policy(&me, EntityKind::User, &name, "Mine", &grant(r#""*""#)).await;
        }
        Path::PutGroupPolicy => {
            let group = format!("g{i}");
            db.iam.create_group(root, &group, None).await.unwrap();
            db.iam.add_user_to_group(root, &group, &name).await.unwrap();
            put(grant(r#""iam:PutGroupPolicy""#)).await;
            // Guarded by a boundary: the put goes through, but what it grants stays capped.
            boundary(r#""iam:PutGroupPolicy""#).await;
            db.iam.put_inline_policy(&me, EntityKind::Group, &group, "Mine", &grant(r#""*""#)).await.unwrap();
            let held = db.iam.list_inline_policies(root, EntityKind::Group, &group).await.unwrap();
            assert_eq!(held, ["Mine"], "the policy is there either way: only the boundary stands between");
        }
        Path::AddUserToGroup => {
            let admins = format!("admins{i}");
            db.iam.create_group(root, &admins, None).await.unwrap();
            db.iam.attach_policy(root, EntityKind::Group, &admins, ADMIN).await.unwrap();
            // Guarded by the resource: only the readers group may be joined.
            let resource = if guarded { format!(r#""arn:aws:iam::*:group/readers{i}""#) } else { r#""*""#.to_owned() };
            put(allow(r#""iam:AddUserToGroup""#, &resource)).await;
            let _ = db.iam.add_user_to_group(&me, &admins, &name).await;
        }
        Path::CreateAccessKeyForAnother => {
            // The victim is an administrator; a key of theirs is their power.
            let victim = format!("admin{i}");
            user(db, root, &victim, &[("protected", "true")]).await;
            db.iam.attach_policy(root, EntityKind::User, &victim, ADMIN).await.unwrap();
            put(grant(r#""iam:CreateAccessKey""#)).await;
            // Guarded by keys of one's own only.
            let own_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateAccessKey",
                "NotResource":"arn:aws:iam::*:user/${aws:username}"}]}"#;
            guard(own_only.to_owned()).await;
            return match db.iam.create_access_key(&me, Some(&victim)).await {
                Ok(key) => db.iam.access_key_secret(&key.access_key_id).await.unwrap().is_some(),
                Err(_) => false,
            };
        }
        Path::CreateLoginProfileForAnother | Path::UpdateLoginProfileForAnother => {
            let victim = format!("admin{i}");
            user(db, root, &victim, &[("protected", "true")]).await;
            db.iam.attach_policy(root, EntityKind::User, &victim, ADMIN).await.unwrap();
            let update = path == Path::UpdateLoginProfileForAnother;
            if update {
                db.iam.create_login_profile(root, &victim, &Password::new("Victim-password-1"), false).await.unwrap();
            }
            put(grant(r#"["iam:CreateLoginProfile","iam:UpdateLoginProfile"]"#)).await;
            // Guarded by a guardrail on tagged users.
            guard(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*",
                    "Condition":{"StringEquals":{"aws:ResourceTag/protected":"true"}}}]}"#
                    .to_owned(),
            )
            .await;
            let chosen = Password::new("Chosen-by-mallory-1");
            let _ = if update {
                db.iam.update_login_profile(&me, &victim, Some(&chosen), Some(false)).await
            } else {
                db.iam.create_login_profile(&me, &victim, &chosen, false).await.map(drop)
            };
            let attempt = SignIn::User { account: "example-corp".into(), user_name: victim, password: chosen };
            return db.iam.sign_in(&attempt, &Default::default()).await.is_ok();
        }
        Path::UpdateAssumeRolePolicy => {
            let role = format!("ops{i}");
            let tags = vec![("protected".to_owned(), "true".to_owned())];
            let input = CreateRole {
                role_name: role.clone(),
                assume_role_policy_document: TRUST.into(),
                tags,
                ..Default::default()
            };
            db.iam.create_role(root, input).await.unwrap();
            db.iam.attach_policy(root, EntityKind::Role, &role, ADMIN).await.unwrap();
            put(grant(r#""iam:UpdateAssumeRolePolicy""#)).await;
            guard(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*",
                    "Condition":{"StringEquals":{"iam:ResourceTag/protected":"true"}}}]}"#
                    .to_owned(),
            )
            .await;
            let mine = me.principal.arn().to_string();
            let trust = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{mine}"}},"Action":"sts:AssumeRole"}}]}}"#
            );
            let _ = db.iam.update_assume_role_policy(&me, &role, &trust).await;
            let now = db.iam.get_role(root, &role).await.unwrap().assume_role_policy_document;
            return now.contains(&mine);
        }
        Path::DeleteUserPermissionsBoundary => {
            put(grant(r#""iam:*""#)).await;
            // The boundary that caps the attacker: the guarded one does not allow removing it.
            let allowed = if guarded { r#""iam:Get*""# } else { r#"["iam:Get*","iam:DeleteUserPermissionsBoundary"]"# };
            let input =
                CreatePolicy { policy_name: format!("Cap{i}"), policy_document: grant(allowed), ..Default::default() };
            let cap = db.iam.create_policy(root, input).await.unwrap().arn;
            db.iam.put_permissions_boundary(root, EntityKind::User, &name, &cap).await.unwrap();
            assert!(!is_admin(db, &me, &format!("{probe}-before")).await, "capped to start with");
            let _ = db.iam.delete_permissions_boundary(&me, EntityKind::User, &name).await;
        }
    }
    is_admin(db, &me, &probe).await
}

on_both!(privilege_escalation_paths_work_when_granted_and_stop_where_guarded, |db| {
    let root = db.with_account().await;
    let mut failures = Vec::new();
    for (i, path) in PATHS.iter().enumerate() {
        if !attempt(db, &root, 2 * i, *path, false).await {
            failures.push(format!("{path:?}: granted, yet it did not work"));
        }
        if attempt(db, &root, 2 * i + 1, *path, true).await {
            failures.push(format!("{path:?}: guarded, yet it escalated"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
});
