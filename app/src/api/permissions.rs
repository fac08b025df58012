//! The permissions of a user, group or role, as the AWS console's Permissions tab shows them: every
//! policy a user has with how it is attached (directly, inline, through which group), the inline
//! policies (list, view, create, edit, delete), the managed policies and the boundary. Each call is the matching IAM action
//! (`ListUserPolicies`, `GetUserPolicy`, `PutUserPolicy`, `DeleteUserPolicy`, and the group and role
//! forms), which iam-core authorizes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// An inline policy with its document, as stored (the text the author wrote), or why the caller
/// cannot read it (`iam:GetUserPolicy` denied while the names may be listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicyView {
    pub policy_name: String,
    pub document: Result<String, ConsoleError>,
}

/// The kinds of entity that hold policies, as the forms name them (`user`, `group`, `role`).
#[cfg(feature = "ssr")]
fn entity_kind(kind: &str) -> Result<iam_core::entities::EntityKind, ConsoleError> {
    iam_core::entities::EntityKind::parse(kind)
        .ok_or_else(|| ConsoleError::new("ValidationError", format!("There is no kind of entity named `{kind}`.")))
}

#[server(prefix = "/api", endpoint = "inline_policies")]
pub async fn inline_policies(entity_kind: String, entity_name: String) -> Result<Vec<InlinePolicyView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let kind = self::entity_kind(&entity_kind)?;
    let names = iam.list_inline_policies(&caller, kind, &entity_name).await?;
    let mut out = Vec::with_capacity(names.len());
    // One read per policy, as AWS's console does: a document the caller may not read is shown as
    // that refusal beside its name, and one deleted meanwhile is left out.
    for name in names {
        let document = match iam.get_inline_policy(&caller, kind, &entity_name, &name).await {
            Ok(policy) => Ok(policy.document),
            Err(iam_core::IamError::NoSuchEntity(_)) => continue,
            Err(e) => Err(ConsoleError::from(e)),
        };
        out.push(InlinePolicyView { policy_name: name, document });
    }
    Ok(out)
}

/// Creates an inline policy (`create`: refused if one of that name exists, as AWS's console does)
/// or replaces one (`PutUserPolicy` and its group and role forms).
#[server(prefix = "/api", endpoint = "put_inline_policy")]
pub async fn put_inline_policy(
    entity_kind: String,
    entity_name: String,
    policy_name: String,
    policy_document: String,
    #[server(default)] create: bool,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let kind = self::entity_kind(&entity_kind)?;
    if create {
        iam.create_inline_policy(&caller, kind, &entity_name, &policy_name, &policy_document).await?;
    } else {
        iam.put_inline_policy(&caller, kind, &entity_name, &policy_name, &policy_document).await?;
    }
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "policy-saved");
    Ok(())
}

#[server(prefix = "/api", endpoint = "delete_inline_policy")]
pub async fn delete_inline_policy(
    entity_kind: String,
    entity_name: String,
    policy_name: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let kind = self::entity_kind(&entity_kind)?;
    scope.state.iam.delete_inline_policy(&caller, kind, &entity_name, &policy_name).await?;
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "policy-deleted");
    Ok(())
}

/// A managed policy attached to an entity, or offered to attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicyView {
    pub policy_name: String,
    pub policy_arn: String,
    /// AWS managed (`arn:aws:iam::aws:policy/...`) rather than the account's own.
    pub aws_managed: bool,
    pub description: String,
}

/// Policies a picker offers at most at once; the filter finds the others.
pub const POLICY_CHOICES: usize = 25;

/// `ListAttachedUserPolicies` and its group and role forms.
#[server(prefix = "/api", endpoint = "attached_policies")]
pub async fn attached_policies(
    entity_kind: String,
    entity_name: String,
) -> Result<Vec<ManagedPolicyView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let kind = self::entity_kind(&entity_kind)?;
    let attached = scope.state.iam.list_attached_policies(&caller, kind, &entity_name).await?;
    Ok(attached
        .into_iter()
        .map(|p| ManagedPolicyView {
            aws_managed: iam_core::aws_managed::is_aws_managed_arn(&p.policy_arn),
            policy_name: p.policy_name,
            policy_arn: p.policy_arn,
            description: String::new(),
        })
        .collect())
}

/// Managed policies, AWS's and the account's, whose name contains `filter`, at most
/// [`POLICY_CHOICES`] (`ListPolicies`).
#[server(prefix = "/api", endpoint = "policy_choices")]
pub async fn policy_choices(#[server(default)] filter: String) -> Result<Vec<ManagedPolicyView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let filter = filter.trim().to_lowercase();
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let input =
            iam_core::policies::ListPolicies { marker: marker.take(), max_items: Some(1000), ..Default::default() };
        let page = iam.list_policies(&caller, input).await?;
        out.extend(
            page.items.into_iter().filter(|p| p.is_attachable && p.policy_name.to_lowercase().contains(&filter)).map(
                |p| ManagedPolicyView {
                    policy_name: p.policy_name,
                    policy_arn: p.arn,
                    aws_managed: p.aws_managed,
                    description: p.description,
                },
            ),
        );
        match page.marker {
            Some(next) if page.is_truncated && out.len() < POLICY_CHOICES => marker = Some(next),
            _ => break,
        }
    }
    out.truncate(POLICY_CHOICES);
    Ok(out)
}

/// Attaches each chosen managed policy (`AttachUserPolicy` and its group and role forms).
#[server(prefix = "/api", endpoint = "attach_policies")]
pub async fn attach_policies(
    entity_kind: String,
    entity_name: String,
    #[server(default)] policies: Vec<String>,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let kind = self::entity_kind(&entity_kind)?;
    let mut failed = Vec::new();
    for arn in super::batch(policies, "Choose at least one policy to attach.")? {
        if let Err(e) = scope.state.iam.attach_policy(&caller, kind, &entity_name, &arn).await {
            failed.push((arn, ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        return Err(super::batch_error("Not every policy was attached. ", &failed));
    }
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "policies-attached");
    Ok(())
}

/// `DetachUserPolicy` and its group and role forms.
#[server(prefix = "/api", endpoint = "detach_policy")]
pub async fn detach_policy(entity_kind: String, entity_name: String, policy_arn: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let kind = self::entity_kind(&entity_kind)?;
    scope.state.iam.detach_policy(&caller, kind, &entity_name, &policy_arn).await?;
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "policy-detached");
    Ok(())
}

/// The permissions boundary of a user or role, if it has one (`GetUser`, `GetRole`).
#[server(prefix = "/api", endpoint = "permissions_boundary")]
pub async fn permissions_boundary(entity_kind: String, entity_name: String) -> Result<Option<String>, ConsoleError> {
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    match self::entity_kind(&entity_kind)? {
        EntityKind::User => Ok(iam.get_user(&caller, &entity_name).await?.permissions_boundary_arn),
        EntityKind::Role => Ok(iam.get_role(&caller, &entity_name).await?.permissions_boundary_arn),
        EntityKind::Group => Err(ConsoleError::new("InvalidInput", "Groups cannot have a permissions boundary.")),
    }
}

/// Sets or changes the permissions boundary of a user or role (`PutUserPermissionsBoundary`,
/// `PutRolePermissionsBoundary`). Nothing chosen is a mistake, never a removal: removing a boundary
/// widens what the entity may do, and has its own button.
#[server(prefix = "/api", endpoint = "set_boundary")]
pub async fn set_boundary(
    entity_kind: String,
    entity_name: String,
    #[server(default)] boundary: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let arn = boundary.trim();
    if arn.is_empty() {
        return Err(ConsoleError::new("ValidationError", "Choose the policy to use as the permissions boundary."));
    }
    let caller = scope.caller().await?;
    let kind = self::entity_kind(&entity_kind)?;
    scope.state.iam.put_permissions_boundary(&caller, kind, &entity_name, arn).await?;
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "boundary-set");
    Ok(())
}

/// Removes the permissions boundary of a user or role (`DeleteUserPermissionsBoundary`,
/// `DeleteRolePermissionsBoundary`).
#[server(prefix = "/api", endpoint = "remove_boundary")]
pub async fn remove_boundary(entity_kind: String, entity_name: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let kind = self::entity_kind(&entity_kind)?;
    scope.state.iam.delete_permissions_boundary(&caller, kind, &entity_name).await?;
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "boundary-removed");
    Ok(())
}

/// A policy a user has, and how it comes to have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedPolicy {
    pub policy_name: String,
    /// A managed policy's ARN; `None` for an inline policy.
    pub policy_arn: Option<String>,
    /// `AWS managed`, `Customer managed` or `Customer inline`, as AWS's console labels them.
    pub kind: String,
    /// The group it comes through; `None` when it is the user's own.
    pub group: Option<String>,
}

/// Every policy a user has, and the reads the caller was refused on the way (a group whose
/// policies it may not list, say), each named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedPolicies {
    pub policies: Vec<GrantedPolicy>,
    pub refused: Vec<(String, ConsoleError)>,
}

/// The user page's "Permissions policies": its own managed and inline policies, then each group's
/// (`ListAttachedUserPolicies`, `ListUserPolicies`, `ListGroupsForUser`, and per group
/// `ListAttachedGroupPolicies`, `ListGroupPolicies`), as AWS's console reads them. A refused read
/// is named, not taken for "none"; any other failure fails the whole.
#[server(prefix = "/api", endpoint = "user_permissions")]
pub async fn user_permissions(user_name: String) -> Result<GrantedPolicies, ConsoleError> {
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let mut out = GrantedPolicies::default();
    // Keeps what was read; a refusal is noted under `what`; anything else ends the answer.
    fn take<T>(
        out: &mut GrantedPolicies,
        what: String,
        read: Result<T, iam_core::IamError>,
    ) -> Result<Option<T>, ConsoleError> {
        match read {
            Ok(found) => Ok(Some(found)),
            Err(e @ iam_core::IamError::AccessDenied(_)) => {
                out.refused.push((what, ConsoleError::from(e)));
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
    let managed = |p: iam_core::policies::AttachedPolicy, group: Option<String>| GrantedPolicy {
        kind: super::policy_kind(&p.policy_arn).to_owned(),
        policy_name: p.policy_name,
        policy_arn: Some(p.policy_arn),
        group,
    };
    let inline = |name: String, group: Option<String>| GrantedPolicy {
        policy_name: name,
        policy_arn: None,
        kind: "Customer inline".to_owned(),
        group,
    };
    let read = iam.list_attached_policies(&caller, EntityKind::User, &user_name).await;
    if let Some(list) = take(&mut out, "Managed policies attached directly".to_owned(), read)? {
        out.policies.extend(list.into_iter().map(|p| managed(p, None)));
    }
    let read = iam.list_inline_policies(&caller, EntityKind::User, &user_name).await;
    if let Some(list) = take(&mut out, "Inline policies".to_owned(), read)? {
        out.policies.extend(list.into_iter().map(|n| inline(n, None)));
    }
    let read = iam.list_groups_for_user(&caller, &user_name).await;
    for group in take(&mut out, "Groups".to_owned(), read)?.unwrap_or_default() {
        let name = group.group_name;
        let read = iam.list_attached_policies(&caller, EntityKind::Group, &name).await;
        // A group deleted since the user's groups were read has nothing left to give.
        if matches!(read, Err(iam_core::IamError::NoSuchEntity(_))) {
            continue;
        }
        if let Some(list) = take(&mut out, format!("Managed policies of group {name}"), read)? {
            out.policies.extend(list.into_iter().map(|p| managed(p, Some(name.clone()))));
        }
        let read = iam.list_inline_policies(&caller, EntityKind::Group, &name).await;
        if matches!(read, Err(iam_core::IamError::NoSuchEntity(_))) {
            continue;
        }
        if let Some(list) = take(&mut out, format!("Inline policies of group {name}"), read)? {
            out.policies.extend(list.into_iter().map(|n| inline(n, Some(name.clone()))));
        }
    }
    Ok(out)
}
