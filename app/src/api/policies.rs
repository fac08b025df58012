//! Managed policies: the list (type and use filters), creation, a policy's page (summary and
//! JSON, entities attached, versions, tags) and deletion. Each step is the IAM action AWS's
//! console calls (`ListPolicies`, `GetPolicy`, `GetPolicyVersion`, `ListPolicyVersions`,
//! `ListEntitiesForPolicy`, `CreatePolicy`, `CreatePolicyVersion`, `SetDefaultPolicyVersion`,
//! `DeletePolicyVersion`, `Attach*Policy`, `Detach*Policy`, `DeletePolicy`), which iam-core
//! authorizes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::TagInput;
use crate::components::list::ListPage;
use crate::error::ConsoleError;

/// A row of the policies list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRow {
    pub policy_name: String,
    pub arn: String,
    /// `AWS managed`, `AWS managed - job function` or `Customer managed`.
    pub kind: String,
    /// How many entities have it attached, and use it as their boundary.
    pub attachments: i64,
    pub boundaries: i64,
    pub description: String,
}

/// The type filter of the list, as AWS's console names its choices.
pub const POLICY_TYPES: &[(&str, &str)] = &[
    ("", "All types"),
    ("aws", "AWS managed"),
    ("job", "AWS managed - job function"),
    ("customer", "Customer managed"),
];

/// The "used as" filter.
pub const POLICY_USES: &[(&str, &str)] =
    &[("", "All uses"), ("policy", "Permissions policy"), ("boundary", "Permissions boundary"), ("unused", "Not used")];

/// AWS's managed policies for job functions (AWS's IAM User Guide, "AWS managed policies for job
/// functions") that are not under the `/job-function/` path. AWS's console labels these "AWS
/// managed - job function" too.
const JOB_FUNCTIONS_AT_ROOT: &[&str] = &["AdministratorAccess", "PowerUserAccess", "SecurityAudit"];

/// `AWS managed`, `AWS managed - job function` or `Customer managed`, as AWS's console labels the
/// policy `arn` (job functions are AWS's policies under `/job-function/`, and a few at the root).
pub fn policy_kind(arn: &str) -> &'static str {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::aws:policy") else { return "Customer managed" };
    let name = rest.rsplit('/').next().unwrap_or_default();
    if rest.starts_with("/job-function/") || JOB_FUNCTIONS_AT_ROOT.contains(&name) {
        "AWS managed - job function"
    } else {
        "AWS managed"
    }
}

/// `Permissions policy (2), Permissions boundary (1)`, or `None`.
pub fn used_as(attachments: i64, boundaries: i64) -> String {
    let mut uses = Vec::new();
    if attachments > 0 {
        uses.push(format!("Permissions policy ({attachments})"));
    }
    if boundaries > 0 {
        uses.push(format!("Permissions boundary ({boundaries})"));
    }
    if uses.is_empty() { "None".to_owned() } else { uses.join(", ") }
}

/// Every managed policy the caller's account can use, page by page through `ListPolicies`.
#[cfg(feature = "ssr")]
async fn all_policies(
    iam: &iam_core::Iam,
    caller: &iam_core::Caller,
    scope: iam_core::policies::PolicyScope,
) -> Result<Vec<iam_core::policies::ManagedPolicy>, ConsoleError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let input = iam_core::policies::ListPolicies {
            scope,
            marker: marker.take(),
            max_items: Some(1000),
            ..Default::default()
        };
        let page = iam.list_policies(caller, input).await?;
        out.extend(page.items);
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => return Ok(out),
        }
    }
}

/// The list: `kind` is a key of [`POLICY_TYPES`], `used` one of [`POLICY_USES`].
#[server(prefix = "/api", endpoint = "list_policies")]
pub async fn list_policies(
    #[server(default)] filter: String,
    #[server(default)] kind: String,
    #[server(default)] used: String,
    #[server(default)] sort: String,
    #[server(default)] desc: bool,
    #[server(default)] page: usize,
    #[server(default)] size: usize,
) -> Result<ListPage<PolicyRow>, ConsoleError> {
    use crate::components::list::ListState;
    use iam_core::policies::PolicyScope;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let state = ListState { filter, sort, desc, page, size, ..ListState::default() };
    let list_scope = match kind.as_str() {
        "aws" | "job" => PolicyScope::Aws,
        "customer" => PolicyScope::Local,
        _ => PolicyScope::All,
    };
    let mut rows: Vec<PolicyRow> = all_policies(&scope.state.iam, &caller, list_scope)
        .await?
        .into_iter()
        .filter(|p| state.matches(&p.policy_name))
        .filter(|p| match kind.as_str() {
            "aws" => policy_kind(&p.arn) == "AWS managed",
            "job" => policy_kind(&p.arn) == "AWS managed - job function",
            _ => true,
        })
        .filter(|p| match used.as_str() {
            "policy" => p.attachment_count > 0,
            "boundary" => p.permissions_boundary_usage_count > 0,
            "unused" => p.attachment_count == 0 && p.permissions_boundary_usage_count == 0,
            _ => true,
        })
        .map(|p| PolicyRow {
            kind: policy_kind(&p.arn).to_owned(),
            policy_name: p.policy_name,
            arn: p.arn,
            attachments: p.attachment_count,
            boundaries: p.permissions_boundary_usage_count,
            description: p.description,
        })
        .collect();
    // Most used first when sorting by use, as the column is read.
    crate::components::list::sort_rows(&mut rows, &state, |p, column| match column {
        "type" => (0, p.kind.clone(), p.policy_name.to_lowercase()),
        "used" => (-(p.attachments + p.boundaries), p.policy_name.to_lowercase(), p.arn.clone()),
        _ => (0, p.policy_name.to_lowercase(), p.arn.clone()),
    });
    Ok(ListPage::of(rows, &state))
}

/// A row of AWS's policy summary: a service, the access a policy gives (or denies) in it, on
/// which resources and under which request conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub service: String,
    /// `Full access`, `Full: List, Read Limited: Write`.
    pub access: String,
    /// Per access level: the level, then the actions of it covered out of those there are.
    pub levels: Vec<(String, usize, usize)>,
    /// `None` for all resources.
    pub resources: Option<Vec<String>>,
    pub conditions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryView {
    pub allow: Vec<SummaryRow>,
    pub deny: Vec<SummaryRow>,
    /// Action entries naming no service or action AWS has.
    pub unrecognized: Vec<String>,
    /// How many services there are.
    pub services: usize,
}

/// The largest identity policy IAM stores (a role's inline policies, 10,240 characters without
/// whitespace). A summary walks every action of every service a statement names, so a text from
/// the create or edit page that no policy could be is refused before it is parsed.
#[cfg(feature = "ssr")]
const SUMMARY_MAX_CHARS: usize = 10_240;

/// The summary of `document`, worked out off the async threads (a large policy, such as AWS's
/// `ReadOnlyAccess`, walks thousands of actions).
#[cfg(feature = "ssr")]
async fn summary_view(document: String) -> Result<SummaryView, ConsoleError> {
    tokio::task::spawn_blocking(move || summarize_text(&document))
        .await
        .map_err(|_| ConsoleError::new("ServiceFailure", "The policy summary could not be made."))?
}

#[cfg(feature = "ssr")]
fn summarize_text(document: &str) -> Result<SummaryView, ConsoleError> {
    let doc =
        iam_policy::parse_policy(document).map_err(|e| ConsoleError::new("MalformedPolicyDocument", e.to_string()))?;
    let summary = iam_core::services::summarize(&doc);
    let rows = |list: Vec<iam_core::services::ServiceSummary>| {
        list.into_iter()
            .map(|s| SummaryRow {
                access: s.access(),
                service: s.name,
                levels: s.levels.iter().map(|l| (l.level.as_str().to_owned(), l.covered, l.total)).collect(),
                resources: s.resources,
                conditions: s.conditions,
            })
            .collect()
    };
    Ok(SummaryView {
        allow: rows(summary.allow),
        deny: rows(summary.deny),
        unrecognized: summary.unrecognized,
        services: summary.services,
    })
}

/// AWS's summary of a policy document being written (the create and edit pages' review). It reads
/// nothing of the account, so no IAM action authorizes it; it is for signed-in people only.
#[server(prefix = "/api", endpoint = "policy_summary")]
pub async fn policy_summary(document: String) -> Result<SummaryView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    scope.caller().await?;
    iam_policy::validate::check_size(&document, SUMMARY_MAX_CHARS)
        .map_err(|e| ConsoleError::new("LimitExceeded", e.to_string()))?;
    summary_view(document).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version_id: String,
    pub is_default: bool,
    pub created: String,
}

/// A managed policy's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub policy_name: String,
    pub arn: String,
    pub policy_id: String,
    pub path: String,
    pub kind: String,
    pub aws_managed: bool,
    pub description: String,
    pub created: String,
    pub updated: String,
    pub default_version: String,
    pub attachments: i64,
    pub boundaries: i64,
    /// The default version's document (`GetPolicyVersion`), pretty-printed, and its summary.
    pub document: Result<(String, SummaryView), ConsoleError>,
    /// `ListPolicyVersions`, newest first.
    pub versions: Result<Vec<VersionRow>, ConsoleError>,
}

/// JSON as AWS's console shows a document: indented by four spaces. Unparseable text is shown as
/// it is.
#[cfg(feature = "ssr")]
pub(crate) fn pretty(document: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(document) else { return document.to_owned() };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match serde::Serialize::serialize(&value, &mut serializer) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| document.to_owned()),
        Err(_) => document.to_owned(),
    }
}

#[server(prefix = "/api", endpoint = "policy_details")]
pub async fn policy_details(arn: String) -> Result<PolicyView, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let policy = iam.get_policy(&caller, &arn).await?;
    let document = match iam.get_policy_version(&caller, &policy.arn, &policy.default_version_id).await {
        Ok(version) => summary_view(version.document.clone()).await.map(|summary| (pretty(&version.document), summary)),
        Err(e) => Err(e.into()),
    };
    let versions = iam.list_policy_versions(&caller, &policy.arn).await.map_err(ConsoleError::from).map(|list| {
        list.into_iter()
            .map(|v| VersionRow {
                version_id: v.version_id,
                is_default: v.is_default_version,
                created: v.create_date.to_iso8601(),
            })
            .collect()
    });
    Ok(PolicyView {
        kind: policy_kind(&policy.arn).to_owned(),
        policy_name: policy.policy_name,
        arn: policy.arn,
        policy_id: policy.policy_id,
        path: policy.path,
        aws_managed: policy.aws_managed,
        description: policy.description,
        created: policy.create_date.to_iso8601(),
        updated: policy.update_date.to_iso8601(),
        default_version: policy.default_version_id,
        attachments: policy.attachment_count,
        boundaries: policy.permissions_boundary_usage_count,
        document,
        versions,
    })
}

/// A line of two versions side by side: the left version's line, the right one's, and how they
/// differ (`same`, `changed`, `removed`, `added`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub left: Option<String>,
    pub right: Option<String>,
    pub change: String,
}

/// Two versions of a policy side by side, line by line (`GetPolicyVersion` twice), both
/// pretty-printed so that a difference of layout is not shown as a change.
#[server(prefix = "/api", endpoint = "compare_versions")]
pub async fn compare_versions(arn: String, left: String, right: String) -> Result<Vec<DiffLine>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let left = pretty(&iam.get_policy_version(&caller, &arn, &left).await?.document);
    let right = pretty(&iam.get_policy_version(&caller, &arn, &right).await?.document);
    Ok(side_by_side(&left, &right))
}

#[cfg(feature = "ssr")]
fn side_by_side(left: &str, right: &str) -> Vec<DiffLine> {
    use similar::DiffTag;
    let (a, b): (Vec<&str>, Vec<&str>) = (left.lines().collect(), right.lines().collect());
    let line = |list: &[&str], i: usize| list.get(i).map(|l| (*l).to_owned());
    let mut out = Vec::new();
    for op in similar::TextDiff::from_slices(&a, &b).ops() {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => out.extend(old.zip(new).map(|(i, j)| DiffLine {
                left: line(&a, i),
                right: line(&b, j),
                change: "same".to_owned(),
            })),
            DiffTag::Delete => {
                out.extend(old.map(|i| DiffLine { left: line(&a, i), right: None, change: "removed".to_owned() }))
            }
            DiffTag::Insert => {
                out.extend(new.map(|j| DiffLine { left: None, right: line(&b, j), change: "added".to_owned() }))
            }
            DiffTag::Replace => {
                for k in 0..old.len().max(new.len()) {
                    let (l, r) = ((k < old.len()).then(|| old.start + k), (k < new.len()).then(|| new.start + k));
                    out.push(DiffLine {
                        left: l.and_then(|i| line(&a, i)),
                        right: r.and_then(|j| line(&b, j)),
                        change: "changed".to_owned(),
                    });
                }
            }
        }
    }
    out
}

/// An entity a policy is attached to, or that uses it as its boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEntityRow {
    /// `user`, `group` or `role`.
    pub kind: String,
    pub name: String,
    /// `Permissions policy` or `Permissions boundary`.
    pub attached_as: String,
}

/// `ListEntitiesForPolicy`: the users, groups and roles with the policy attached, then those using
/// it as their permissions boundary.
#[server(prefix = "/api", endpoint = "policy_entities")]
pub async fn policy_entities(arn: String) -> Result<Vec<PolicyEntityRow>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let found = scope.state.iam.list_entities_for_policy(&caller, &arn).await?;
    let row = |kind: &str, attached_as: &str| {
        let (kind, attached_as) = (kind.to_owned(), attached_as.to_owned());
        move |(name, _id): (String, String)| PolicyEntityRow {
            kind: kind.clone(),
            name,
            attached_as: attached_as.clone(),
        }
    };
    let mut rows: Vec<PolicyEntityRow> = Vec::new();
    rows.extend(found.users.into_iter().map(row("user", "Permissions policy")));
    rows.extend(found.groups.into_iter().map(row("group", "Permissions policy")));
    rows.extend(found.roles.into_iter().map(row("role", "Permissions policy")));
    rows.extend(found.boundary_users.into_iter().map(row("user", "Permissions boundary")));
    rows.extend(found.boundary_roles.into_iter().map(row("role", "Permissions boundary")));
    Ok(rows)
}

/// Attaches the policy to each chosen user, group and role (`AttachUserPolicy`,
/// `AttachGroupPolicy`, `AttachRolePolicy`).
#[server(prefix = "/api", endpoint = "attach_policy_to")]
pub async fn attach_policy_to(
    arn: String,
    #[server(default)] users: Vec<String>,
    #[server(default)] groups: Vec<String>,
    #[server(default)] roles: Vec<String>,
) -> Result<(), ConsoleError> {
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let chosen: Vec<(EntityKind, String)> = users
        .into_iter()
        .map(|n| (EntityKind::User, n))
        .chain(groups.into_iter().map(|n| (EntityKind::Group, n)))
        .chain(roles.into_iter().map(|n| (EntityKind::Role, n)))
        .filter(|(_, n)| !n.trim().is_empty())
        .collect();
    if chosen.is_empty() {
        return Err(ConsoleError::new("ValidationError", "Choose at least one user, group or role."));
    }
    let mut failed = Vec::new();
    for (kind, name) in chosen {
        if let Err(e) = scope.state.iam.attach_policy(&caller, kind, name.trim(), &arn).await {
            failed.push((format!("{} {name}", kind.label()), ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        return Err(super::batch_error("Not attached to every entity chosen. ", &failed));
    }
    scope.redirect_done(&crate::paths::policy_tab(&arn, "entities"), "policy-attached");
    Ok(())
}

/// Detaches the policy from the selected entities, each named `kind:name` (`Detach*Policy`).
#[server(prefix = "/api", endpoint = "detach_policy_from")]
pub async fn detach_policy_from(arn: String, #[server(default)] names: Vec<String>) -> Result<(), ConsoleError> {
    use iam_core::entities::EntityKind;
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let mut failed = Vec::new();
    for entry in super::batch(names, "Select at least one entity to detach the policy from.")? {
        let parsed = entry.split_once(':').and_then(|(kind, name)| Some((EntityKind::parse(kind)?, name)));
        let Some((kind, name)) = parsed else {
            failed.push((entry.clone(), ConsoleError::new("ValidationError", "Not an entity of the list.")));
            continue;
        };
        if let Err(e) = scope.state.iam.detach_policy(&caller, kind, name, &arn).await {
            failed.push((format!("{} {name}", kind.label()), ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        return Err(super::batch_error("Not detached from every entity selected. ", &failed));
    }
    scope.redirect_done(&crate::paths::policy_tab(&arn, "entities"), "policy-detached");
    Ok(())
}

/// What the create form posts as `policy[...]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPolicy {
    #[serde(default)]
    pub policy_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub document: String,
}

/// `CreatePolicy`: name, description, path, document and tags in one call.
#[server(prefix = "/api", endpoint = "create_policy")]
pub async fn create_policy(policy: NewPolicy, #[server(default)] tags: Vec<TagInput>) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let input = iam_core::policies::CreatePolicy {
        policy_name: policy.policy_name.trim().to_owned(),
        path: Some(policy.path.trim().to_owned()).filter(|p| !p.is_empty()),
        policy_document: policy.document,
        description: Some(policy.description.trim().to_owned()).filter(|d| !d.is_empty()),
        tags: tags
            .into_iter()
            .filter(|t| !(t.key.is_empty() && t.value.is_empty()))
            .map(|t| (t.key, t.value))
            .collect(),
    };
    let created = scope.state.iam.create_policy(&caller, input).await?;
    scope.redirect_done(&crate::paths::policy_href(&created.arn), "policy-created");
    Ok(())
}

/// `CreatePolicyVersion`: the edit page saves a new version, the default one unless unticked. A
/// policy at AWS's 5 versions makes room, as AWS's console does: only when the save is refused for
/// want of room (iam-core checks the document before it counts versions, so a mistake in it never
/// gets this far) is the version the person chose deleted (`DeletePolicyVersion`), and the save
/// tried again. A page that offered room no longer needed deletes nothing.
#[server(prefix = "/api", endpoint = "save_policy_version")]
pub async fn save_policy_version(
    arn: String,
    document: String,
    #[server(default)] set_as_default: bool,
    #[server(default)] delete_version: String,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let iam = &scope.state.iam;
    let delete_version = delete_version.trim();
    match iam.create_policy_version(&caller, &arn, &document, set_as_default).await {
        Err(iam_core::IamError::LimitExceeded(_)) if !delete_version.is_empty() => {
            iam.delete_policy_version(&caller, &arn, delete_version).await?;
            iam.create_policy_version(&caller, &arn, &document, set_as_default).await?;
        }
        other => {
            other?;
        }
    }
    let done = if set_as_default { "version-saved-default" } else { "version-saved" };
    scope.redirect_done(&crate::paths::policy_tab(&arn, "versions"), done);
    Ok(())
}

/// `SetDefaultPolicyVersion`.
#[server(prefix = "/api", endpoint = "set_default_version")]
pub async fn set_default_version(arn: String, version_id: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    scope.state.iam.set_default_policy_version(&caller, &arn, &version_id).await?;
    scope.redirect_done(&crate::paths::policy_tab(&arn, "versions"), "default-set");
    Ok(())
}

/// `DeletePolicyVersion` for each selected version.
#[server(prefix = "/api", endpoint = "delete_policy_versions")]
pub async fn delete_policy_versions(arn: String, #[server(default)] names: Vec<String>) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let mut failed = Vec::new();
    for version in super::batch(names, "Select at least one version to delete.")? {
        if let Err(e) = scope.state.iam.delete_policy_version(&caller, &arn, &version).await {
            failed.push((version, ConsoleError::from(e)));
        }
    }
    if !failed.is_empty() {
        return Err(super::batch_error("Not every version was deleted. ", &failed));
    }
    scope.redirect_done(&crate::paths::policy_tab(&arn, "versions"), "versions-deleted");
    Ok(())
}

/// Deletes a customer managed policy as AWS's console does, after its name is typed: detached
/// from everything, its other versions deleted, then the policy (iam-core's
/// `delete_policy_and_dependents`).
#[server(prefix = "/api", endpoint = "delete_policy")]
pub async fn delete_policy(arn: String, confirmation: String) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    // The name is the ARN's, never one the form says.
    let policy_name = arn.rsplit('/').next().unwrap_or_default().to_owned();
    if policy_name.is_empty() || confirmation.trim() != policy_name {
        return Err(ConsoleError::new("ValidationError", "To confirm, enter the name of the policy in the field."));
    }
    let caller = scope.caller().await?;
    scope.state.iam.delete_policy_and_dependents(&caller, &arn).await?;
    scope.redirect_done(
        &format!("/policies?deleted={}", crate::components::list::urlencode(&policy_name)),
        "policies-deleted",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_labelled_as_aws_labels_them() {
        assert_eq!(policy_kind("arn:aws:iam::aws:policy/IAMReadOnlyAccess"), "AWS managed");
        assert_eq!(policy_kind("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"), "AWS managed - job function");
        assert_eq!(policy_kind("arn:aws:iam::aws:policy/AdministratorAccess"), "AWS managed - job function");
        assert_eq!(policy_kind("arn:aws:iam::123456789012:policy/job-function/X"), "Customer managed");
        assert_eq!(policy_kind("arn:aws:iam::123456789012:policy/AdministratorAccess"), "Customer managed");
        assert_eq!(used_as(0, 0), "None");
        assert_eq!(used_as(2, 1), "Permissions policy (2), Permissions boundary (1)");
        assert_eq!(used_as(0, 1), "Permissions boundary (1)");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn two_versions_are_lined_up_with_their_changes() {
        let v1 =
            pretty(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#);
        let v2 = pretty(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*","Sid":"x"}]}"#,
        );
        let lines = side_by_side(&v1, &v2);
        let changes: Vec<_> = lines.iter().filter(|l| l.change != "same").collect();
        assert!(!changes.is_empty());
        assert!(changes.iter().any(|l| l.left.as_deref().is_some_and(|t| t.contains("s3:Get*"))
            && l.right.as_deref().is_some_and(|t| t.contains("s3:List*"))));
        assert!(lines.iter().any(|l| l.change == "same" && l.left.as_deref() == Some("{")));
        assert_eq!(lines.iter().filter(|l| l.left.is_some()).count(), v1.lines().count());
        assert_eq!(lines.iter().filter(|l| l.right.is_some()).count(), v2.lines().count());
        assert!(v1.contains("\n    \"Statement\""), "four spaces, as AWS indents: {v1}");
    }
}
