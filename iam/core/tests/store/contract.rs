//! Every action authorizes under its own AWS name: refused to a user without policies (and the
//! refusal audited), allowed once a policy grants exactly that action. Destructive actions aim at
//! entities that do not exist, so an allowed call answers `NoSuchEntity` and the fixtures stay.
//! Also: quotas hold when requests race.

use std::sync::atomic::{AtomicUsize, Ordering};

use iam_core::access_keys::KeyStatus;
use iam_core::entities::EntityKind;
use iam_core::mfa::AssignmentStatus;
use iam_core::password_policy::UpdatePasswordPolicy;
use iam_core::policies::{CreatePolicy, ListPolicies};
use iam_core::roles::CreateRole;
use iam_core::simulator::Simulation;
use iam_core::tagging::Taggable;
use iam_core::users::{CreateUser, ListUsers};
use iam_core::{Caller, Iam, IamError, Password, Principal};

use crate::harness::caller;
use crate::on_both;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

const ACTIONS: &[&str] = &[
    "iam:CreateUser",
    "iam:GetUser",
    "iam:ListUsers",
    "iam:DeleteUser",
    "iam:UpdateUser",
    "iam:CreateLoginProfile",
    "iam:GetLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:DeleteLoginProfile",
    "iam:ChangePassword",
    "iam:CreateGroup",
    "iam:GetGroup",
    "iam:ListGroups",
    "iam:DeleteGroup",
    "iam:UpdateGroup",
    "iam:AddUserToGroup",
    "iam:RemoveUserFromGroup",
    "iam:ListGroupsForUser",
    "iam:CreateRole",
    "iam:GetRole",
    "iam:ListRoles",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRole",
    "iam:CreatePolicy",
    "iam:GetPolicy",
    "iam:ListPolicies",
    "iam:DeletePolicy",
    "iam:CreatePolicyVersion",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:ListEntitiesForPolicy",
    "iam:AttachUserPolicy",
    "iam:DetachUserPolicy",
    "iam:ListAttachedUserPolicies",
    "iam:AttachGroupPolicy",
    "iam:DetachGroupPolicy",
    "iam:ListAttachedGroupPolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:PutUserPolicy",
    "iam:GetUserPolicy",
    "iam:DeleteUserPolicy",
    "iam:ListUserPolicies",
    "iam:PutGroupPolicy",
    "iam:GetGroupPolicy",
    "iam:DeleteGroupPolicy",
    "iam:ListGroupPolicies",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
    "iam:GetAccessKeyLastUsed",
    "iam:GetAccountPasswordPolicy",
    "iam:UpdateAccountPasswordPolicy",
    "iam:DeleteAccountPasswordPolicy",
    "iam:CreateAccountAlias",
    "iam:DeleteAccountAlias",
    "iam:ListAccountAliases",
    "iam:GetAccountSummary",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:ListUserTags",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:TagPolicy",
    "iam:UntagPolicy",
    "iam:ListPolicyTags",
    "iam:TagMFADevice",
    "iam:UntagMFADevice",
    "iam:ListMFADeviceTags",
    "iam:GetAccountAuthorizationDetails",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:ResyncMFADevice",
    "iam:DeactivateMFADevice",
    "iam:DeleteVirtualMFADevice",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:SimulatePrincipalPolicy",
    "iam:SimulateCustomPolicy",
    "iam:GetContextKeysForPrincipalPolicy",
    "iam:GetContextKeysForCustomPolicy",
    "iam:GenerateServiceLastAccessedDetails",
    "cloudtrail:LookupEvents",
];

/// Calls the iam-core function of `action` as `who`, on the fixtures of `account`.
async fn call(iam: &Iam, who: &Caller, account: &str, action: &str) -> Result<(), IamError> {
    let policy = format!("arn:aws:iam::{account}:policy/Fixture");
    let ghost_policy = format!("arn:aws:iam::{account}:policy/Ghost");
    let target_arn = format!("arn:aws:iam::{account}:user/target");
    let ghost_mfa = format!("arn:aws:iam::{account}:mfa/ghost");
    let tags = vec![("k".to_owned(), "v".to_owned())];
    let keys = vec!["k".to_owned()];
    let sim = || Simulation {
        action_names: vec!["s3:GetObject".into()],
        policy_input_list: vec![DOC.into()],
        ..Default::default()
    };
    match action {
        "iam:CreateUser" => {
            iam.create_user(who, CreateUser { user_name: unique("u"), ..Default::default() }).await.map(drop)
        }
        "iam:GetUser" => iam.get_user(who, "target").await.map(drop),
        "iam:ListUsers" => iam.list_users(who, ListUsers::default()).await.map(drop),
        "iam:DeleteUser" => iam.delete_user(who, "ghost").await,
        "iam:UpdateUser" => iam.update_user(who, "ghost", Some("ghost2"), None).await,
        "iam:CreateLoginProfile" => {
            iam.create_login_profile(who, "ghost", &Password::new("Ghost-password-1"), false).await.map(drop)
        }
        "iam:GetLoginProfile" => iam.get_login_profile(who, "target").await.map(drop),
        "iam:UpdateLoginProfile" => iam.update_login_profile(who, "ghost", None, Some(true)).await,
        "iam:DeleteLoginProfile" => iam.delete_login_profile(who, "ghost").await,
        "iam:ChangePassword" => iam.change_password(who, &Password::new("x"), &Password::new("Y-password-1")).await,
        "iam:CreateGroup" => iam.create_group(who, &unique("g"), None).await.map(drop),
        "iam:GetGroup" => iam.get_group(who, "fixtures").await.map(drop),
        "iam:ListGroups" => iam.list_groups(who, None, None, None).await.map(drop),
        "iam:DeleteGroup" => iam.delete_group(who, "ghost").await,
        "iam:UpdateGroup" => iam.update_group(who, "ghost", None, Some("/moved/")).await,
        "iam:AddUserToGroup" => iam.add_user_to_group(who, "ghost", "target").await,
        "iam:RemoveUserFromGroup" => iam.remove_user_from_group(who, "ghost", "target").await,
        "iam:ListGroupsForUser" => iam.list_groups_for_user(who, "target").await.map(drop),
        "iam:CreateRole" => {
            let input =
                CreateRole { role_name: unique("r"), assume_role_policy_document: TRUST.into(), ..Default::default() };
            iam.create_role(who, input).await.map(drop)
        }
        "iam:GetRole" => iam.get_role(who, "fixture").await.map(drop),
        "iam:ListRoles" => iam.list_roles(who, None, None, None).await.map(drop),
        "iam:UpdateRole" => iam.update_role(who, "ghost", Some("d"), None).await,
        "iam:UpdateRoleDescription" => iam.update_role_description(who, "ghost", "d").await,
        "iam:UpdateAssumeRolePolicy" => iam.update_assume_role_policy(who, "ghost", TRUST).await,
        "iam:DeleteRole" => iam.delete_role(who, "ghost").await,
        "iam:CreatePolicy" => {
            let input = CreatePolicy { policy_name: unique("p"), policy_document: DOC.into(), ..Default::default() };
            iam.create_policy(who, input).await.map(drop)
        }
        "iam:GetPolicy" => iam.get_policy(who, &policy).await.map(drop),
        "iam:ListPolicies" => iam.list_policies(who, ListPolicies::default()).await.map(drop),
        "iam:DeletePolicy" => iam.delete_policy(who, &ghost_policy).await,
        "iam:CreatePolicyVersion" => iam.create_policy_version(who, &ghost_policy, DOC, false).await.map(drop),
        "iam:GetPolicyVersion" => iam.get_policy_version(who, &policy, "v1").await.map(drop),
        "iam:ListPolicyVersions" => iam.list_policy_versions(who, &policy).await.map(drop),
        "iam:DeletePolicyVersion" => iam.delete_policy_version(who, &ghost_policy, "v2").await,
        "iam:SetDefaultPolicyVersion" => iam.set_default_policy_version(who, &ghost_policy, "v1").await,
        "iam:ListEntitiesForPolicy" => iam.list_entities_for_policy(who, &policy).await.map(drop),
        "iam:AttachUserPolicy" => iam.attach_policy(who, EntityKind::User, "ghost", &policy).await,
        "iam:DetachUserPolicy" => iam.detach_policy(who, EntityKind::User, "ghost", &policy).await,
        "iam:ListAttachedUserPolicies" => iam.list_attached_policies(who, EntityKind::User, "target").await.map(drop),
        "iam:AttachGroupPolicy" => iam.attach_policy(who, EntityKind::Group, "ghost", &policy).await,
        "iam:DetachGroupPolicy" => iam.detach_policy(who, EntityKind::Group, "ghost", &policy).await,
        "iam:ListAttachedGroupPolicies" => {
            iam.list_attached_policies(who, EntityKind::Group, "fixtures").await.map(drop)
        }
        "iam:AttachRolePolicy" => iam.attach_policy(who, EntityKind::Role, "ghost", &policy).await,
        "iam:DetachRolePolicy" => iam.detach_policy(who, EntityKind::Role, "ghost", &policy).await,
        "iam:ListAttachedRolePolicies" => iam.list_attached_policies(who, EntityKind::Role, "fixture").await.map(drop),
        "iam:PutUserPolicy" => iam.put_inline_policy(who, EntityKind::User, "ghost", "P", DOC).await,
        "iam:GetUserPolicy" => iam.get_inline_policy(who, EntityKind::User, "target", "P").await.map(drop),
        "iam:DeleteUserPolicy" => iam.delete_inline_policy(who, EntityKind::User, "ghost", "P").await,
        "iam:ListUserPolicies" => iam.list_inline_policies(who, EntityKind::User, "target").await.map(drop),
        "iam:PutGroupPolicy" => iam.put_inline_policy(who, EntityKind::Group, "ghost", "P", DOC).await,
        "iam:GetGroupPolicy" => iam.get_inline_policy(who, EntityKind::Group, "fixtures", "P").await.map(drop),
        "iam:DeleteGroupPolicy" => iam.delete_inline_policy(who, EntityKind::Group, "ghost", "P").await,
        "iam:ListGroupPolicies" => iam.list_inline_policies(who, EntityKind::Group, "fixtures").await.map(drop),
        "iam:PutRolePolicy" => iam.put_inline_policy(who, EntityKind::Role, "ghost", "P", DOC).await,
        "iam:GetRolePolicy" => iam.get_inline_policy(who, EntityKind::Role, "fixture", "P").await.map(drop),
        "iam:DeleteRolePolicy" => iam.delete_inline_policy(who, EntityKind::Role, "ghost", "P").await,
        "iam:ListRolePolicies" => iam.list_inline_policies(who, EntityKind::Role, "fixture").await.map(drop),
        "iam:PutUserPermissionsBoundary" => iam.put_permissions_boundary(who, EntityKind::User, "ghost", &policy).await,
        "iam:DeleteUserPermissionsBoundary" => iam.delete_permissions_boundary(who, EntityKind::User, "ghost").await,
        "iam:PutRolePermissionsBoundary" => iam.put_permissions_boundary(who, EntityKind::Role, "ghost", &policy).await,
        "iam:DeleteRolePermissionsBoundary" => iam.delete_permissions_boundary(who, EntityKind::Role, "ghost").await,
        "iam:CreateAccessKey" => iam.create_access_key(who, Some("ghost")).await.map(drop),
        "iam:ListAccessKeys" => iam.list_access_keys(who, Some("target")).await.map(drop),
        "iam:UpdateAccessKey" => {
            iam.update_access_key(who, Some("ghost"), "AKIAGHOSTGHOSTGHOST1", KeyStatus::Inactive).await
        }
        "iam:DeleteAccessKey" => iam.delete_access_key(who, Some("ghost"), "AKIAGHOSTGHOSTGHOST1").await,
        "iam:GetAccessKeyLastUsed" => iam.get_access_key_last_used(who, "AKIAGHOSTGHOSTGHOST1").await.map(drop),
        "iam:GetAccountPasswordPolicy" => iam.get_account_password_policy(who).await.map(drop),
        "iam:UpdateAccountPasswordPolicy" => {
            iam.update_account_password_policy(who, UpdatePasswordPolicy::default()).await.map(drop)
        }
        "iam:DeleteAccountPasswordPolicy" => iam.delete_account_password_policy(who).await,
        "iam:CreateAccountAlias" => iam.create_account_alias(who, "example-corp").await,
        "iam:DeleteAccountAlias" => iam.delete_account_alias(who, "ghost-alias").await,
        "iam:ListAccountAliases" => iam.list_account_aliases(who).await.map(drop),
        "iam:GetAccountSummary" => iam.get_account_summary(who).await.map(drop),
        "iam:TagUser" => iam.tag(who, Taggable::User("ghost"), &tags).await,
        "iam:UntagUser" => iam.untag(who, Taggable::User("ghost"), &keys).await,
        "iam:ListUserTags" => iam.list_tags(who, Taggable::User("target")).await.map(drop),
        "iam:TagRole" => iam.tag(who, Taggable::Role("ghost"), &tags).await,
        "iam:UntagRole" => iam.untag(who, Taggable::Role("ghost"), &keys).await,
        "iam:ListRoleTags" => iam.list_tags(who, Taggable::Role("fixture")).await.map(drop),
        "iam:TagPolicy" => iam.tag(who, Taggable::Policy(&ghost_policy), &tags).await,
        "iam:UntagPolicy" => iam.untag(who, Taggable::Policy(&ghost_policy), &keys).await,
        "iam:ListPolicyTags" => iam.list_tags(who, Taggable::Policy(&policy)).await.map(drop),
        "iam:TagMFADevice" => iam.tag(who, Taggable::MfaDevice(&ghost_mfa), &tags).await,
        "iam:UntagMFADevice" => iam.untag(who, Taggable::MfaDevice(&ghost_mfa), &keys).await,
        "iam:ListMFADeviceTags" => iam.list_tags(who, Taggable::MfaDevice(&ghost_mfa)).await.map(drop),
        "iam:GetAccountAuthorizationDetails" => iam.get_account_authorization_details(who, &[]).await.map(drop),
        "iam:GenerateCredentialReport" => iam.generate_credential_report(who).await.map(drop),
        "iam:GetCredentialReport" => iam.get_credential_report(who).await.map(drop),
        "iam:CreateVirtualMFADevice" => iam.create_virtual_mfa_device(who, &unique("d"), None).await.map(drop),
        "iam:EnableMFADevice" => iam.enable_mfa_device(who, Some("ghost"), &ghost_mfa, "123456", "654321").await,
        "iam:ResyncMFADevice" => iam.resync_mfa_device(who, Some("ghost"), &ghost_mfa, "123456", "654321").await,
        "iam:DeactivateMFADevice" => iam.deactivate_mfa_device(who, Some("ghost"), &ghost_mfa).await,
        "iam:DeleteVirtualMFADevice" => iam.delete_virtual_mfa_device(who, &ghost_mfa).await,
        "iam:ListMFADevices" => iam.list_mfa_devices(who, Some("target")).await.map(drop),
        "iam:ListVirtualMFADevices" => iam.list_virtual_mfa_devices(who, AssignmentStatus::Any).await.map(drop),
        "iam:SimulatePrincipalPolicy" => iam.simulate_principal_policy(who, &target_arn, sim()).await.map(drop),
        "iam:SimulateCustomPolicy" => iam.simulate_custom_policy(who, sim()).await.map(drop),
        "iam:GetContextKeysForPrincipalPolicy" => {
            iam.get_context_keys_for_principal_policy(who, &target_arn, &[]).await.map(drop)
        }
        "iam:GetContextKeysForCustomPolicy" => {
            iam.get_context_keys_for_custom_policy(who, &[DOC.to_owned()]).await.map(drop)
        }
        "iam:GenerateServiceLastAccessedDetails" => iam.service_last_accessed(who, &target_arn).await.map(drop),
        "cloudtrail:LookupEvents" => iam.audit_events(who, None, None, 10).await.map(drop),
        other => panic!("no call for {other}"),
    }
}

on_both!(every_action_is_authorized_under_its_own_name, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    db.iam.create_user(&root, CreateUser { user_name: "target".into(), ..Default::default() }).await.unwrap();
    db.iam.create_group(&root, "fixtures", None).await.unwrap();
    let role =
        CreateRole { role_name: "fixture".into(), assume_role_policy_document: TRUST.into(), ..Default::default() };
    db.iam.create_role(&root, role).await.unwrap();
    let fixture = CreatePolicy { policy_name: "Fixture".into(), policy_document: DOC.into(), ..Default::default() };
    db.iam.create_policy(&root, fixture).await.unwrap();
    let bob = db.iam.create_user(&root, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    let as_bob = caller(Principal::User {
        account_id: account.clone(),
        user_id: bob.user_id,
        user_name: "bob".into(),
        path: "/".into(),
    });

    let mut wrong = Vec::new();
    for action in ACTIONS {
        match call(&db.iam, &as_bob, &account, action).await {
            Err(e) if e.code() == "AccessDenied" && e.message().contains(&format!(" perform: {action} on ")) => {}
            other => wrong.push(format!("{action} without a policy: {other:?}")),
        }
        let only = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
        );
        db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Only", &only).await.unwrap();
        if let Err(e) = call(&db.iam, &as_bob, &account, action).await
            && e.code() == "AccessDenied"
        {
            wrong.push(format!("{action} with a policy granting it: {e}"));
        }
        db.iam.delete_inline_policy(&root, EntityKind::User, "bob", "Only").await.unwrap();
    }
    assert!(wrong.is_empty(), "{} of {} actions misauthorized:\n{}", wrong.len(), ACTIONS.len(), wrong.join("\n"));

    // Every refusal was audited under the action's name.
    let refused =
        db.iam.audit_events(&root, Some(&format!("arn:aws:iam::{account}:user/bob")), None, 1000).await.unwrap();
    for action in ACTIONS {
        assert!(
            refused.iter().any(|e| e.action == *action && e.outcome == "AccessDenied"),
            "no audited refusal of {action}"
        );
    }
});

on_both!(quotas_hold_when_requests_race, |db| {
    let root = db.with_account().await;
    db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    // Five simultaneous key creations for a user allowed two: exactly two succeed.
    let attempts = (0..5).map(|_| db.iam.create_access_key(&root, Some("alice")));
    let results = futures_join_all(attempts).await;
    let made = results.iter().filter(|r| r.is_ok()).count();
    let limited = results.iter().filter(|r| r.as_ref().err().map(|e| e.code()) == Some("LimitExceeded")).count();
    assert_eq!((made, limited), (2, 3));
    // Eleven simultaneous group joins for a user allowed ten.
    for i in 0..11 {
        db.iam.create_group(&root, &format!("g{i}"), None).await.unwrap();
    }
    let names: Vec<String> = (0..11).map(|i| format!("g{i}")).collect();
    let joins = names.iter().map(|g| db.iam.add_user_to_group(&root, g, "alice"));
    let results = futures_join_all(joins).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 10);
    assert_eq!(db.iam.list_groups_for_user(&root, "alice").await.unwrap().len(), 10);
});

/// Runs futures concurrently on this task (no extra crate for `join_all`).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

on_both!(a_burst_of_reads_does_not_exhaust_the_pool, |db| {
    let root = db.with_account().await;
    let u = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::User, "alice", "arn:aws:iam::aws:policy/IAMReadOnlyAccess").await.unwrap();
    let alice = caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: u.user_id,
        user_name: "alice".into(),
        path: "/".into(),
    });
    // Three times the pool's eight connections, all at once, from a cold cache: each read must
    // authorize through the connection it holds rather than wait for a second one.
    db.iam.policy_cache().clear();
    let reads = (0..24).map(|_| db.iam.get_user(&alice, "alice"));
    let results = futures_join_all(reads).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
});
