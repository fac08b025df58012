//! Managed policies and their versions (`CreatePolicy`, `GetPolicy`, `ListPolicies`,
//! `DeletePolicy`, `CreatePolicyVersion`, `GetPolicyVersion`, `ListPolicyVersions`,
//! `DeletePolicyVersion`, `SetDefaultPolicyVersion`), attaching them to users, groups and roles
//! (`Attach*Policy`, `Detach*Policy`, `ListAttached*Policies`, `ListEntitiesForPolicy`), and inline
//! policies (`Put*Policy`, `Get*Policy`, `Delete*Policy`, `List*Policies`).
//!
//! Every write that changes what someone may do commits through [`Iam::commit_permissions`], which
//! invalidates the cached policies of the account in this process and in every other.

use iam_policy::{Arn, PolicyErrorKind, PolicyKind, parse_and_validate, parse_policy, validate};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::aws_managed;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::entities::{Entity, EntityKind};
use crate::error::{IamError, is_unique_violation};
use crate::ids::{self, IdKind};
use crate::names::{IamPath, PolicyName, Tag};
use crate::tagging::{insert_tags, load_tags, tags_json};
use crate::users::{Page, decode_marker, encode_marker, page_size};

/// Customer managed policies per account (AWS's default quota).
pub const MAX_POLICIES_PER_ACCOUNT: i64 = 1_500;
/// Versions kept per managed policy.
pub const MAX_VERSIONS: i64 = 5;

/// A managed policy, customer or AWS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManagedPolicy {
    pub policy_name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub default_version_id: String,
    /// Users, groups and roles of the caller's account it is attached to.
    pub attachment_count: i64,
    /// Users and roles of the caller's account that have it as permissions boundary.
    pub permissions_boundary_usage_count: i64,
    pub is_attachable: bool,
    pub description: String,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
    pub tags: Vec<Tag>,
    pub aws_managed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyVersion {
    /// The document as JSON text (the API URL-encodes it on the wire, as AWS does).
    pub document: String,
    pub version_id: String,
    pub is_default_version: bool,
    pub create_date: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct CreatePolicy {
    pub policy_name: String,
    pub path: Option<String>,
    pub policy_document: String,
    pub description: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// `Scope` of `ListPolicies`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PolicyScope {
    #[default]
    All,
    /// AWS managed policies only.
    Aws,
    /// Customer managed policies only.
    Local,
}

#[derive(Debug, Clone, Default)]
pub struct ListPolicies {
    pub scope: PolicyScope,
    pub only_attached: bool,
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

/// A managed policy as an entity lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

/// Who a managed policy is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyEntities {
    /// Attached as a permissions policy: (name, id).
    pub users: Vec<(String, String)>,
    pub groups: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
    /// Using it as their permissions boundary: (name, id). AWS lists these too when no
    /// `PolicyUsageFilter` is given.
    pub boundary_users: Vec<(String, String)>,
    pub boundary_roles: Vec<(String, String)>,
}

/// An inline policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlinePolicy {
    pub entity_name: String,
    pub policy_name: String,
    pub document: String,
}

/// AWS's error for a rejected document: `MalformedPolicyDocument`, or `LimitExceeded` when too large.
pub(crate) fn document_error(e: iam_policy::PolicyError) -> IamError {
    match e.kind {
        PolicyErrorKind::TooLarge => IamError::LimitExceeded(e.message),
        PolicyErrorKind::Malformed => IamError::MalformedPolicyDocument(e.to_string()),
    }
}

/// Checks a managed policy document (identity policy, at most 6,144 characters).
fn managed_document(text: &str) -> Result<(), IamError> {
    check_document_length(text)?;
    parse_and_validate(text, PolicyKind::Identity).map(|_| ()).map_err(document_error)
}

/// Checks an inline policy document; its size counts towards the entity's sum instead.
fn inline_document(text: &str) -> Result<usize, IamError> {
    check_document_length(text)?;
    let doc = parse_policy(text).map_err(document_error)?;
    if let Some(first) = validate(&doc, PolicyKind::Identity).into_iter().next() {
        return Err(document_error(first));
    }
    Ok(iam_policy::validate::size_without_whitespace(text))
}

/// AWS's request limit on a document parameter (131,072 characters), before any parsing.
fn check_document_length(text: &str) -> Result<(), IamError> {
    if text.is_empty() || text.chars().count() > 131_072 {
        return Err(IamError::ValidationError(
            "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have \
             length between 1 and 131072"
                .to_owned(),
        ));
    }
    Ok(())
}

fn check_description(description: &str) -> Result<(), IamError> {
    if description.chars().count() > 1000 {
        return Err(IamError::ValidationError(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have \
             length less than or equal to 1000"
                .to_owned(),
        ));
    }
    Ok(())
}

/// A policy ARN from a request, with its account (`aws` for AWS managed).
pub(crate) struct PolicyArn {
    pub(crate) arn: String,
    account: String,
}

pub(crate) fn parse_policy_arn(text: &str) -> Result<PolicyArn, IamError> {
    let invalid = || IamError::InvalidInput(format!("ARN {text} is not valid."));
    let arn = Arn::parse(text).map_err(|_| invalid())?;
    let rest = arn.resource.strip_prefix("policy/").ok_or_else(invalid)?;
    let name = rest.rsplit('/').next().unwrap_or_default();
    if arn.service != "iam" || !(arn.account == "aws" || crate::ids::is_account_id(&arn.account)) {
        return Err(invalid());
    }
    PolicyName::parse(name).map_err(|_| invalid())?;
    Ok(PolicyArn { arn: text.to_owned(), account: arn.account.clone() })
}

pub(crate) fn no_such_policy(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

fn version_number(version_id: &str) -> Option<i64> {
    version_id.strip_prefix('v')?.parse().ok().filter(|n| *n > 0)
}

/// A deterministic AWS-style id for a shipped AWS managed policy.
fn aws_policy_id(arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut hash = arn.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut id = String::from("ANPA");
    for _ in 0..17 {
        id.push(char::from(ALPHABET.get((hash % 32) as usize).copied().unwrap_or(b'A')));
        hash = hash.rotate_right(5) ^ 0x9e37_79b9_7f4a_7c15;
    }
    id
}

/// When the shipped AWS managed policies are reported as created (the release that first shipped them).
const AWS_POLICIES_DATE: Timestamp = Timestamp::from_millis(1_795_824_000_000);

struct PolicyRow {
    policy_id: String,
    policy_name: String,
    path: String,
    arn: String,
    description: String,
    default_version: String,
    next_version: i64,
    created_at: i64,
    updated_at: i64,
}

const POLICY_COLUMNS: &str =
    "policy_id, policy_name, path, arn, description, default_version, next_version, created_at, updated_at";

impl PolicyRow {
    fn from_row(row: &AnyRow) -> Result<PolicyRow, sqlx::Error> {
        Ok(PolicyRow {
            policy_id: row.try_get("policy_id")?,
            policy_name: row.try_get("policy_name")?,
            path: row.try_get("path")?,
            arn: row.try_get("arn")?,
            description: row.try_get("description")?,
            default_version: row.try_get("default_version")?,
            next_version: row.try_get("next_version")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// A customer managed policy of `account_id` by ARN: another account's policies are never found
/// here, whatever the ARN says, so isolation does not rest on the evaluator alone.
async fn find_policy(conn: &mut AnyConnection, account_id: &str, arn: &str) -> Result<Option<PolicyRow>, IamError> {
    let sql = format!("SELECT {POLICY_COLUMNS} FROM managed_policies WHERE arn = $1 AND account_id = $2");
    let row = sqlx::query(&sql).bind(arn).bind(account_id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(PolicyRow::from_row).transpose()?)
}

/// Whether `arn` names a policy that `account_id`'s users and roles can use: a shipped AWS managed
/// policy, or one of the account's own customer managed policies.
pub(crate) async fn is_usable_policy(conn: &mut AnyConnection, account_id: &str, arn: &str) -> Result<bool, IamError> {
    if aws_managed::is_aws_managed_arn(arn) {
        return Ok(aws_managed::find(arn).is_some());
    }
    Ok(find_policy(conn, account_id, arn).await?.is_some())
}

async fn usage_counts(conn: &mut AnyConnection, account_id: &str, arn: &str) -> Result<(i64, i64), IamError> {
    let attached: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM policy_attachments WHERE account_id = $1 AND policy_arn = $2")
            .bind(account_id)
            .bind(arn)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
    let boundaries: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM users WHERE account_id = $1 AND permissions_boundary_arn = $2) + \
         (SELECT COUNT(*) FROM roles WHERE account_id = $1 AND permissions_boundary_arn = $2) AS n",
    )
    .bind(account_id)
    .bind(arn)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    Ok((attached, boundaries))
}

pub(crate) fn aws_policy(p: &aws_managed::AwsManagedPolicy, counts: (i64, i64)) -> ManagedPolicy {
    ManagedPolicy {
        policy_name: p.name.clone(),
        policy_id: aws_policy_id(&p.arn),
        arn: p.arn.clone(),
        path: p.path.clone(),
        default_version_id: aws_managed::VERSION_ID.to_owned(),
        attachment_count: counts.0,
        permissions_boundary_usage_count: counts.1,
        is_attachable: true,
        description: String::new(),
        create_date: AWS_POLICIES_DATE,
        update_date: AWS_POLICIES_DATE,
        tags: Vec::new(),
        aws_managed: true,
    }
}

impl Iam {
    /// `iam:CreatePolicy`: a customer managed policy with its first version, `v1`, as default.
    pub async fn create_policy(&self, caller: &Caller, input: CreatePolicy) -> Result<ManagedPolicy, IamError> {
        self.record_failures(caller, async move {
            let name = PolicyName::parse(&input.policy_name)?;
            let path = match input.path.as_deref() {
                Some(p) => IamPath::parse(p)?,
                None => IamPath::root(),
            };
            let description = input.description.unwrap_or_default();
            check_description(&description)?;
            let tags = Tag::parse_list(&input.tags)?;
            let account_id = caller.account_id().to_owned();
            let arn = Arn::iam(&account_id, format!("policy{path}{name}")).to_string();
            let parameters = || {
                serde_json::json!({ "PolicyName": name.as_str(), "Path": path.as_str(), "Description": description,
                                "Tags": tags_json(&tags) })
            };
            self.authorize_or_record(
                caller,
                Request::new("iam:CreatePolicy", &arn, &account_id).with_request_tags(&tags).creating(),
                parameters,
            )
            .await?;
            self.authorize_tags_at_creation(caller, "iam:TagPolicy", &arn, &tags, parameters).await?;
            managed_document(&input.policy_document)?;

            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            let exists = sqlx::query("SELECT 1 AS one FROM managed_policies WHERE account_id = $1 AND name_key = $2")
                .bind(&account_id)
                .bind(name.key())
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_some() {
                return Err(policy_exists(&name, &arn));
            }
            let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM managed_policies WHERE account_id = $1")
                .bind(&account_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if count >= MAX_POLICIES_PER_ACCOUNT {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES_PER_ACCOUNT}"
                )));
            }
            let policy_id = ids::unique_id(IdKind::Policy, &mut rand::thread_rng());
            let inserted = sqlx::query(
                "INSERT INTO managed_policies (policy_id, account_id, policy_name, name_key, path, arn, description, \
             default_version, next_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'v1', 2, $8, $8)",
            )
            .bind(&policy_id)
            .bind(&account_id)
            .bind(name.as_str())
            .bind(name.key())
            .bind(path.as_str())
            .bind(&arn)
            .bind(&description)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(policy_exists(&name, &arn)),
                other => other?,
            };
            sqlx::query(
                "INSERT INTO policy_versions (policy_id, version_id, document, created_at) VALUES ($1, 'v1', $2, $3)",
            )
            .bind(&policy_id)
            .bind(&input.policy_document)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            insert_tags(&mut tx, &account_id, &policy_id, &tags).await?;
            let event =
                Event { action: "iam:CreatePolicy", target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(ManagedPolicy {
                policy_name: name.to_string(),
                policy_id,
                arn,
                path: path.to_string(),
                default_version_id: "v1".to_owned(),
                attachment_count: 0,
                permissions_boundary_usage_count: 0,
                is_attachable: true,
                description,
                create_date: now,
                update_date: now,
                tags,
                aws_managed: false,
            })
        })
        .await
    }

    /// `iam:GetPolicy`, for customer and AWS managed policies.
    pub async fn get_policy(&self, caller: &Caller, policy_arn: &str) -> Result<ManagedPolicy, IamError> {
        let target = parse_policy_arn(policy_arn)?;
        let account_id = caller.account_id();
        self.authorize_or_record(
            caller,
            Request::new("iam:GetPolicy", &target.arn, resource_account(&target, account_id)),
            || serde_json::json!({ "PolicyArn": target.arn }),
        )
        .await?;
        let mut conn = self.store().pool().acquire().await?;
        if target.account == "aws" {
            let p = aws_managed::find(&target.arn).ok_or_else(|| no_such_policy(&target.arn))?;
            let counts = usage_counts(&mut conn, account_id, &p.arn).await?;
            return Ok(aws_policy(p, counts));
        }
        let row = find_policy(&mut conn, account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
        let counts = usage_counts(&mut conn, account_id, &row.arn).await?;
        let tags = load_tags(&mut conn, &row.policy_id).await?;
        Ok(customer_policy(row, counts, tags))
    }

    /// `iam:ListPolicies`: AWS managed policies first when both scopes are asked for, each scope
    /// ordered by name, with AWS's marker pagination.
    pub async fn list_policies(&self, caller: &Caller, input: ListPolicies) -> Result<Page<ManagedPolicy>, IamError> {
        let account_id = caller.account_id();
        let prefix = input.path_prefix.clone().unwrap_or_else(|| "/".to_owned());
        if prefix.is_empty() || !prefix.starts_with('/') || prefix.len() > 512 {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{prefix}' at 'pathPrefix' failed to satisfy constraint: Member \
                 must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*"
            )));
        }
        let limit = page_size(input.max_items)?;
        // Markers are `a:NAMEKEY` (in the AWS part) or `l:NAMEKEY` (in the customer part).
        let after = input.marker.as_deref().map(decode_marker).transpose()?.unwrap_or_default();
        let resource = Arn::iam(account_id, "policy/").to_string();
        self.authorize_or_record(caller, Request::new("iam:ListPolicies", &resource, account_id), || {
            serde_json::json!({ "Scope": format!("{:?}", input.scope), "OnlyAttached": input.only_attached,
                                "PathPrefix": prefix })
        })
        .await?;
        let mut conn = self.store().pool().acquire().await?;
        let attached: std::collections::HashMap<String, i64> = sqlx::query(
            "SELECT policy_arn, COUNT(*) AS n FROM policy_attachments WHERE account_id = $1 GROUP BY policy_arn",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("policy_arn")?, r.try_get("n")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let boundaries: std::collections::HashMap<String, i64> = sqlx::query(
            "SELECT arn, COUNT(*) AS n FROM (\
             SELECT permissions_boundary_arn AS arn FROM users WHERE account_id = $1 \
             AND permissions_boundary_arn IS NOT NULL UNION ALL \
             SELECT permissions_boundary_arn AS arn FROM roles WHERE account_id = $1 \
             AND permissions_boundary_arn IS NOT NULL) b GROUP BY arn",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("arn")?, r.try_get("n")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let used = |arn: &str| (attached.get(arn).copied().unwrap_or(0), boundaries.get(arn).copied().unwrap_or(0));
        let mut items = Vec::new();
        let mut last = None;
        let want = usize::try_from(limit).unwrap_or(100);
        let (aws_after, local_after) = match after.split_once(':') {
            Some(("a", key)) => (Some(key.to_owned()), None),
            Some(("l", key)) => (None, Some(key.to_owned())),
            _ => (None, None),
        };
        let in_aws_part = local_after.is_none();
        if matches!(input.scope, PolicyScope::All | PolicyScope::Aws) && in_aws_part {
            for p in aws_managed::all() {
                let key = p.name.to_ascii_lowercase();
                if aws_after.as_deref().is_some_and(|a| key.as_str() <= a) || !p.path.starts_with(&prefix) {
                    continue;
                }
                let counts = used(&p.arn);
                if input.only_attached && counts.0 == 0 {
                    continue;
                }
                if items.len() == want {
                    return Ok(Page { items, is_truncated: true, marker: last.as_deref().map(encode_marker) });
                }
                items.push(aws_policy(p, counts));
                last = Some(format!("a:{key}"));
            }
        }
        if matches!(input.scope, PolicyScope::All | PolicyScope::Local) {
            let sql = format!(
                "SELECT {POLICY_COLUMNS}, name_key FROM managed_policies WHERE account_id = $1 \
                 AND substr(path, 1, length($2)) = $2 AND name_key > $3 ORDER BY name_key"
            );
            let rows = sqlx::query(&sql)
                .bind(account_id)
                .bind(&prefix)
                .bind(local_after.unwrap_or_default())
                .fetch_all(&mut *conn)
                .await?;
            for row in &rows {
                let policy = PolicyRow::from_row(row)?;
                let counts = used(&policy.arn);
                if input.only_attached && counts.0 == 0 {
                    continue;
                }
                if items.len() == want {
                    return Ok(Page { items, is_truncated: true, marker: last.as_deref().map(encode_marker) });
                }
                let key: String = row.try_get("name_key")?;
                items.push(customer_policy(policy, counts, Vec::new()));
                last = Some(format!("l:{key}"));
            }
        }
        Ok(Page { items, is_truncated: false, marker: None })
    }

    /// `iam:DeletePolicy`. Like AWS, refuses while the policy is attached or used as a boundary,
    /// or has versions besides the default.
    pub async fn delete_policy(&self, caller: &Caller, policy_arn: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ "PolicyArn": target.arn });
            let request = Request::new("iam:DeletePolicy", &target.arn, resource_account(&target, &account_id));
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            if target.account == "aws" {
                return Err(IamError::InvalidInput(format!("Cannot delete the AWS managed policy {}.", target.arn)));
            }
            let row =
                find_policy(&mut tx, &account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
            let (attached, boundaries) = usage_counts(&mut tx, &account_id, &row.arn).await?;
            if attached > 0 || boundaries > 0 {
                return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".to_owned()));
            }
            let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM policy_versions WHERE policy_id = $1")
                .bind(&row.policy_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if versions > 1 {
                return Err(IamError::DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must delete the policy's \
                 versions. The default version is deleted with the policy."
                        .to_owned(),
                ));
            }
            for sql in [
                "DELETE FROM policy_versions WHERE policy_id = $1",
                "DELETE FROM tags WHERE entity_id = $1",
                "DELETE FROM managed_policies WHERE policy_id = $1",
            ] {
                sqlx::query(sql).bind(&row.policy_id).execute(&mut *tx).await?;
            }
            let event = Event {
                action: "iam:DeletePolicy",
                target: Some(&row.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// Deletes customer managed policy `policy_arn` as AWS's console does: detached from every
    /// user, group and role, its versions besides the default deleted, then the policy. All or
    /// nothing. `GetPolicy`, `ListEntitiesForPolicy` and `ListPolicyVersions` must be allowed
    /// before anything the policy holds is read (otherwise which later step is refused would tell
    /// a caller allowed only `DeletePolicy` what the policy is attached to); then each
    /// `Detach*Policy` (on the entity, with `iam:PolicyARN`), each `DeletePolicyVersion` and the
    /// `DeletePolicy` are authorized before anything changes, and each is audited. A policy used as
    /// a permissions boundary is refused with `DeleteConflict`: removing a boundary widens what the
    /// user or role may do, so that is left to its own, deliberate step.
    pub async fn delete_policy_and_dependents(&self, caller: &Caller, policy_arn: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ "PolicyArn": target.arn });
            let resource_account = resource_account(&target, &account_id).to_owned();
            let mut tx = tx;
            for action in ["iam:DeletePolicy", "iam:GetPolicy", "iam:ListEntitiesForPolicy", "iam:ListPolicyVersions"] {
                let request = Request::new(action, &target.arn, &resource_account);
                tx = self.authorize_holding(tx, caller, request, parameters).await?;
            }
            if target.account == "aws" {
                return Err(IamError::InvalidInput(format!("Cannot delete the AWS managed policy {}.", target.arn)));
            }
            let row =
                find_policy(&mut tx, &account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
            let (_, boundaries) = usage_counts(&mut tx, &account_id, &row.arn).await?;
            if boundaries > 0 {
                return Err(IamError::DeleteConflict(format!(
                    "Cannot delete a policy used as a permissions boundary ({boundaries} user{} or role{}). Remove it \
                     as their boundary first.",
                    if boundaries == 1 { "" } else { "s" },
                    if boundaries == 1 { "" } else { "s" }
                )));
            }
            let attached = sqlx::query(
                "SELECT a.entity_kind, COALESCE(u.user_name, g.group_name, r.role_name) AS name, \
                 COALESCE(u.path, g.path, r.path) AS path \
                 FROM policy_attachments a \
                 LEFT JOIN users u ON u.user_id = a.entity_id \
                 LEFT JOIN iam_groups g ON g.group_id = a.entity_id \
                 LEFT JOIN roles r ON r.role_id = a.entity_id \
                 WHERE a.account_id = $1 AND a.policy_arn = $2 ORDER BY a.entity_kind, name",
            )
            .bind(&account_id)
            .bind(&row.arn)
            .fetch_all(&mut *tx)
            .await?;
            let versions = crate::cascade::strings(
                &mut tx,
                "SELECT version_id AS s FROM policy_versions WHERE policy_id = $1 ORDER BY version_id",
                &row.policy_id,
            )
            .await?;

            // Every step is authorized before anything changes; a refusal rolls back everything.
            let mut steps: Vec<(String, String, serde_json::Value, bool)> = Vec::new();
            for entity in &attached {
                let kind = EntityKind::parse(&entity.try_get::<String, _>("entity_kind")?)
                    .ok_or_else(|| IamError::internal(&"a policy attachment names no kind of entity"))?;
                let name: String = entity.try_get("name")?;
                let path: String = entity.try_get("path")?;
                let label = kind.label();
                let arn = crate::entities::entity_arn(&account_id, kind, &path, &name);
                // As `Detach*Policy` and `DeletePolicyVersion` record them on their own, so that a
                // search of the history by entity finds these too.
                let params = serde_json::json!({ format!("{label}Name"): name, "PolicyArn": row.arn });
                steps.push((format!("iam:Detach{label}Policy"), arn, params, true));
            }
            for version in versions.iter().filter(|v| **v != row.default_version) {
                let params = serde_json::json!({ "PolicyArn": row.arn, "VersionId": version });
                steps.push(("iam:DeletePolicyVersion".to_owned(), row.arn.clone(), params, false));
            }
            for (action, resource, params, detach) in &steps {
                let mut request = Request::new(action, resource, &account_id);
                if *detach {
                    request = request.with("iam:PolicyARN", row.arn.clone());
                }
                tx = self.authorize_holding(tx, caller, request, || params.clone()).await?;
            }
            sqlx::query("DELETE FROM policy_attachments WHERE account_id = $1 AND policy_arn = $2")
                .bind(&account_id)
                .bind(&row.arn)
                .execute(&mut *tx)
                .await?;
            for sql in [
                "DELETE FROM policy_versions WHERE policy_id = $1",
                "DELETE FROM tags WHERE entity_id = $1",
                "DELETE FROM managed_policies WHERE policy_id = $1",
            ] {
                sqlx::query(sql).bind(&row.policy_id).execute(&mut *tx).await?;
            }
            let now = self.now();
            for (action, resource, params, _) in &steps {
                let event = Event { action, target: Some(resource), parameters: params.clone(), outcome: "Success" };
                audit::append(&mut tx, caller, now, &event).await?;
            }
            let event = Event {
                action: "iam:DeletePolicy",
                target: Some(&row.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:CreatePolicyVersion`: at most five versions; the new one may become the default.
    pub async fn create_policy_version(
        &self,
        caller: &Caller,
        policy_arn: &str,
        policy_document: &str,
        set_as_default: bool,
    ) -> Result<PolicyVersion, IamError> {
        self.record_failures(caller, async move {
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "PolicyArn": target.arn, "SetAsDefault": set_as_default });
            let request = Request::new("iam:CreatePolicyVersion", &target.arn, resource_account(&target, &account_id));
            self.authorize_or_record(caller, request, parameters).await?;
            if target.account == "aws" {
                return Err(IamError::InvalidInput(format!("Cannot modify the AWS managed policy {}.", target.arn)));
            }
            managed_document(policy_document)?;
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            let row =
                find_policy(&mut tx, &account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
            let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM policy_versions WHERE policy_id = $1")
                .bind(&row.policy_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if versions >= MAX_VERSIONS {
                return Err(IamError::LimitExceeded(
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an \
                 existing version."
                        .to_owned(),
                ));
            }
            let version_id = format!("v{}", row.next_version);
            sqlx::query(
                "INSERT INTO policy_versions (policy_id, version_id, document, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&row.policy_id)
            .bind(&version_id)
            .bind(policy_document)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            let default = if set_as_default { version_id.clone() } else { row.default_version.clone() };
            sqlx::query(
                "UPDATE managed_policies SET next_version = next_version + 1, default_version = $2, updated_at = $3 \
             WHERE policy_id = $1",
            )
            .bind(&row.policy_id)
            .bind(&default)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            let event = Event {
                action: "iam:CreatePolicyVersion",
                target: Some(&row.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            self.commit_permissions(tx, &account_id).await?;
            Ok(PolicyVersion {
                document: policy_document.to_owned(),
                version_id,
                is_default_version: set_as_default,
                create_date: now,
            })
        })
        .await
    }

    /// `iam:GetPolicyVersion`.
    pub async fn get_policy_version(
        &self,
        caller: &Caller,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<PolicyVersion, IamError> {
        let target = parse_policy_arn(policy_arn)?;
        let account_id = caller.account_id();
        let request = Request::new("iam:GetPolicyVersion", &target.arn, resource_account(&target, account_id));
        self.authorize_or_record(
            caller,
            request,
            || serde_json::json!({ "PolicyArn": target.arn, "VersionId": version_id }),
        )
        .await?;
        let no_version = || {
            IamError::NoSuchEntity(format!(
                "Policy {} version {version_id} does not exist or is not attachable.",
                target.arn
            ))
        };
        if target.account == "aws" {
            let p = aws_managed::find(&target.arn).ok_or_else(|| no_such_policy(&target.arn))?;
            if version_id != aws_managed::VERSION_ID {
                return Err(no_version());
            }
            return Ok(PolicyVersion {
                document: p.document.clone(),
                version_id: version_id.to_owned(),
                is_default_version: true,
                create_date: AWS_POLICIES_DATE,
            });
        }
        let mut conn = self.store().pool().acquire().await?;
        let row = find_policy(&mut conn, account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
        let version =
            sqlx::query("SELECT document, created_at FROM policy_versions WHERE policy_id = $1 AND version_id = $2")
                .bind(&row.policy_id)
                .bind(version_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(no_version)?;
        Ok(PolicyVersion {
            document: version.try_get("document")?,
            version_id: version_id.to_owned(),
            is_default_version: row.default_version == version_id,
            create_date: Timestamp::from_millis(version.try_get("created_at")?),
        })
    }

    /// `iam:ListPolicyVersions`, newest first (the documents are left out, as AWS does).
    pub async fn list_policy_versions(
        &self,
        caller: &Caller,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersion>, IamError> {
        let target = parse_policy_arn(policy_arn)?;
        let account_id = caller.account_id();
        let request = Request::new("iam:ListPolicyVersions", &target.arn, resource_account(&target, account_id));
        self.authorize_or_record(caller, request, || serde_json::json!({ "PolicyArn": target.arn })).await?;
        if target.account == "aws" {
            aws_managed::find(&target.arn).ok_or_else(|| no_such_policy(&target.arn))?;
            return Ok(vec![PolicyVersion {
                document: String::new(),
                version_id: aws_managed::VERSION_ID.to_owned(),
                is_default_version: true,
                create_date: AWS_POLICIES_DATE,
            }]);
        }
        let mut conn = self.store().pool().acquire().await?;
        let row = find_policy(&mut conn, account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
        let rows = sqlx::query("SELECT version_id, created_at FROM policy_versions WHERE policy_id = $1")
            .bind(&row.policy_id)
            .fetch_all(&mut *conn)
            .await?;
        let mut versions = rows
            .iter()
            .map(|r| {
                let version_id: String = r.try_get("version_id")?;
                Ok(PolicyVersion {
                    document: String::new(),
                    is_default_version: version_id == row.default_version,
                    version_id,
                    create_date: Timestamp::from_millis(r.try_get("created_at")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        versions.sort_by_key(|v| std::cmp::Reverse(version_number(&v.version_id)));
        Ok(versions)
    }

    /// `iam:DeletePolicyVersion`: any version but the default.
    pub async fn delete_policy_version(
        &self,
        caller: &Caller,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ "PolicyArn": target.arn, "VersionId": version_id });
            let request = Request::new("iam:DeletePolicyVersion", &target.arn, resource_account(&target, &account_id));
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            if target.account == "aws" {
                return Err(IamError::InvalidInput(format!("Cannot modify the AWS managed policy {}.", target.arn)));
            }
            let row =
                find_policy(&mut tx, &account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
            if row.default_version == version_id {
                return Err(IamError::DeleteConflict("Cannot delete the default version of a policy.".to_owned()));
            }
            let deleted = sqlx::query("DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2")
                .bind(&row.policy_id)
                .bind(version_id)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!(
                    "Policy {} version {version_id} does not exist or is not deletable.",
                    row.arn
                )));
            }
            let event = Event {
                action: "iam:DeletePolicyVersion",
                target: Some(&row.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:SetDefaultPolicyVersion`: what every principal the policy is attached to may do changes.
    pub async fn set_default_policy_version(
        &self,
        caller: &Caller,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ "PolicyArn": target.arn, "VersionId": version_id });
            let request =
                Request::new("iam:SetDefaultPolicyVersion", &target.arn, resource_account(&target, &account_id));
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            if target.account == "aws" {
                return Err(IamError::InvalidInput(format!("Cannot modify the AWS managed policy {}.", target.arn)));
            }
            let row =
                find_policy(&mut tx, &account_id, &target.arn).await?.ok_or_else(|| no_such_policy(&target.arn))?;
            let exists = sqlx::query("SELECT 1 AS one FROM policy_versions WHERE policy_id = $1 AND version_id = $2")
                .bind(&row.policy_id)
                .bind(version_id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(IamError::NoSuchEntity(format!(
                    "Policy {} version {version_id} does not exist or is not attachable.",
                    row.arn
                )));
            }
            let now = self.now();
            sqlx::query("UPDATE managed_policies SET default_version = $2, updated_at = $3 WHERE policy_id = $1")
                .bind(&row.policy_id)
                .bind(version_id)
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            let event = Event {
                action: "iam:SetDefaultPolicyVersion",
                target: Some(&row.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:AttachUserPolicy`, `iam:AttachGroupPolicy`, `iam:AttachRolePolicy`.
    pub async fn attach_policy(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = kind.parse_name(entity_name)?;
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let action = format!("iam:Attach{}Policy", kind.label());
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ format!("{}Name", kind.label()): name, "PolicyArn": target.arn });
            let (mut tx, entity) = self
                .write_entity(
                    tx,
                    caller,
                    (kind, &name),
                    &action,
                    |r| r.with("iam:PolicyARN", target.arn.clone()),
                    parameters,
                )
                .await?;
            if !is_usable_policy(&mut tx, &account_id, &target.arn).await? {
                return Err(no_such_policy(&target.arn));
            }
            let already =
                sqlx::query("SELECT 1 AS one FROM policy_attachments WHERE entity_id = $1 AND policy_arn = $2")
                    .bind(&entity.id)
                    .bind(&target.arn)
                    .fetch_optional(&mut *tx)
                    .await?;
            if already.is_none() {
                let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM policy_attachments WHERE entity_id = $1")
                    .bind(&entity.id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if count >= EntityKind::ATTACHED_QUOTA {
                    return Err(IamError::LimitExceeded(format!(
                        "Cannot exceed quota for PoliciesPer{}: {}",
                        kind.label(),
                        EntityKind::ATTACHED_QUOTA
                    )));
                }
                sqlx::query(
                    "INSERT INTO policy_attachments (account_id, entity_id, entity_kind, policy_arn, attached_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&account_id)
                .bind(&entity.id)
                .bind(kind.as_str())
                .bind(&target.arn)
                .bind(self.now().as_millis())
                .execute(&mut *tx)
                .await?;
            }
            let event =
                Event { action: &action, target: Some(&entity.arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:DetachUserPolicy`, `iam:DetachGroupPolicy`, `iam:DetachRolePolicy`.
    pub async fn detach_policy(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        policy_arn: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = kind.parse_name(entity_name)?;
            let target = parse_policy_arn(policy_arn)?;
            let account_id = caller.account_id().to_owned();
            let action = format!("iam:Detach{}Policy", kind.label());
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ format!("{}Name", kind.label()): name, "PolicyArn": target.arn });
            let (mut tx, entity) = self
                .write_entity(
                    tx,
                    caller,
                    (kind, &name),
                    &action,
                    |r| r.with("iam:PolicyARN", target.arn.clone()),
                    parameters,
                )
                .await?;
            let deleted = sqlx::query("DELETE FROM policy_attachments WHERE entity_id = $1 AND policy_arn = $2")
                .bind(&entity.id)
                .bind(&target.arn)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!("Policy {} was not found.", target.arn)));
            }
            let event =
                Event { action: &action, target: Some(&entity.arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:PutUserPermissionsBoundary`, `iam:PutRolePermissionsBoundary`: caps what the user's or
    /// role's identity policies can grant. The request carries `iam:PermissionsBoundary`, so a
    /// policy can let people set only a given boundary.
    pub async fn put_permissions_boundary(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        boundary_arn: &str,
    ) -> Result<(), IamError> {
        self.record_failures(
            caller,
            async move { self.set_boundary(caller, kind, entity_name, Some(boundary_arn)).await },
        )
        .await
    }

    /// `iam:DeleteUserPermissionsBoundary`, `iam:DeleteRolePermissionsBoundary`.
    pub async fn delete_permissions_boundary(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move { self.set_boundary(caller, kind, entity_name, None).await }).await
    }

    async fn set_boundary(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        boundary_arn: Option<&str>,
    ) -> Result<(), IamError> {
        if kind == EntityKind::Group {
            return Err(IamError::InvalidInput("Groups cannot have a permissions boundary.".to_owned()));
        }
        let name = kind.parse_name(entity_name)?;
        let target = boundary_arn.map(parse_policy_arn).transpose()?;
        let account_id = caller.account_id().to_owned();
        let verb = if target.is_some() { "Put" } else { "Delete" };
        let action = format!("iam:{verb}{}PermissionsBoundary", kind.label());
        let tx = self.begin_write(&account_id).await?;
        let boundary = target.as_ref().map(|t| t.arn.clone());
        let parameters =
            || serde_json::json!({ format!("{}Name", kind.label()): name, "PermissionsBoundary": boundary });
        let with_boundary = boundary.clone();
        let (mut tx, entity) = self
            .write_entity(
                tx,
                caller,
                (kind, &name),
                &action,
                |r| match with_boundary {
                    Some(b) => r.with("iam:PermissionsBoundary", b),
                    None => r,
                },
                parameters,
            )
            .await?;
        if let Some(t) = &target
            && !is_usable_policy(&mut tx, &account_id, &t.arn).await?
        {
            return Err(no_such_policy(&t.arn));
        }
        let (table, id_column) = match kind {
            EntityKind::Role => ("roles", "role_id"),
            _ => ("users", "user_id"),
        };
        let sql = format!("UPDATE {table} SET permissions_boundary_arn = $2 WHERE {id_column} = $1");
        sqlx::query(&sql).bind(&entity.id).bind(&boundary).execute(&mut *tx).await?;
        let event = Event { action: &action, target: Some(&entity.arn), parameters: parameters(), outcome: "Success" };
        audit::append(&mut tx, caller, self.now(), &event).await?;
        self.commit_permissions(tx, &account_id).await
    }

    /// `iam:ListAttachedUserPolicies`, `iam:ListAttachedGroupPolicies`, `iam:ListAttachedRolePolicies`.
    pub async fn list_attached_policies(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
    ) -> Result<Vec<AttachedPolicy>, IamError> {
        let name = kind.parse_name(entity_name)?;
        let action = format!("iam:ListAttached{}Policies", kind.label());
        let mut conn = self.store().pool().acquire().await?;
        let entity = self
            .read_entity(
                &mut conn,
                caller,
                kind,
                &name,
                &action,
                || serde_json::json!({ format!("{}Name", kind.label()): name }),
            )
            .await?;
        attached_policies(&mut conn, &entity).await
    }

    /// `iam:ListEntitiesForPolicy`: the users, groups and roles (name and id) a policy is attached to.
    pub async fn list_entities_for_policy(
        &self,
        caller: &Caller,
        policy_arn: &str,
    ) -> Result<PolicyEntities, IamError> {
        let target = parse_policy_arn(policy_arn)?;
        let account_id = caller.account_id();
        let request = Request::new("iam:ListEntitiesForPolicy", &target.arn, resource_account(&target, account_id));
        self.authorize_or_record(caller, request, || serde_json::json!({ "PolicyArn": target.arn })).await?;
        let mut conn = self.store().pool().acquire().await?;
        if !is_usable_policy(&mut conn, account_id, &target.arn).await? {
            return Err(no_such_policy(&target.arn));
        }
        let rows = sqlx::query(
            "SELECT a.entity_kind, a.entity_id, COALESCE(u.user_name, g.group_name, r.role_name) AS name \
             FROM policy_attachments a \
             LEFT JOIN users u ON u.user_id = a.entity_id \
             LEFT JOIN iam_groups g ON g.group_id = a.entity_id \
             LEFT JOIN roles r ON r.role_id = a.entity_id \
             WHERE a.account_id = $1 AND a.policy_arn = $2 ORDER BY name",
        )
        .bind(account_id)
        .bind(&target.arn)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = PolicyEntities::default();
        for row in &rows {
            let entry = (row.try_get::<String, _>("name")?, row.try_get::<String, _>("entity_id")?);
            match EntityKind::parse(&row.try_get::<String, _>("entity_kind")?) {
                Some(EntityKind::User) => out.users.push(entry),
                Some(EntityKind::Group) => out.groups.push(entry),
                Some(EntityKind::Role) => out.roles.push(entry),
                None => {}
            }
        }
        for (kind, table, id, name) in
            [("user", "users", "user_id", "user_name"), ("role", "roles", "role_id", "role_name")]
        {
            let sql = format!(
                "SELECT {name} AS name, {id} AS id FROM {table} \
                 WHERE account_id = $1 AND permissions_boundary_arn = $2 ORDER BY name_key"
            );
            let rows = sqlx::query(&sql).bind(account_id).bind(&target.arn).fetch_all(&mut *conn).await?;
            let list = if kind == "user" { &mut out.boundary_users } else { &mut out.boundary_roles };
            for row in &rows {
                list.push((row.try_get::<String, _>("name")?, row.try_get::<String, _>("id")?));
            }
        }
        Ok(out)
    }

    /// `iam:PutUserPolicy`, `iam:PutGroupPolicy`, `iam:PutRolePolicy`: adds or replaces an inline
    /// policy. The entity's inline policies together stay within its kind's size quota.
    pub async fn put_inline_policy(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        self.put_inline(caller, (kind, entity_name), policy_name, policy_document, true).await
    }

    /// The console's "Create inline policy": `iam:PutUserPolicy` (and its group and role forms),
    /// refused with `EntityAlreadyExists` when the entity already has a policy of that name (names
    /// compared as IAM compares them, ignoring case), as AWS's console refuses it. Checked in the
    /// same transaction as the write, after authorization, and audited like any refusal.
    pub async fn create_inline_policy(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        policy_name: &str,
        policy_document: &str,
    ) -> Result<(), IamError> {
        self.put_inline(caller, (kind, entity_name), policy_name, policy_document, false).await
    }

    async fn put_inline(
        &self,
        caller: &Caller,
        (kind, entity_name): (EntityKind, &str),
        policy_name: &str,
        policy_document: &str,
        replace: bool,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = kind.parse_name(entity_name)?;
            let policy = PolicyName::parse(policy_name)?;
            let account_id = caller.account_id().to_owned();
            let action = format!("iam:Put{}Policy", kind.label());
            let parameters =
                || serde_json::json!({ format!("{}Name", kind.label()): name, "PolicyName": policy.as_str() });
            // Checking the document first tells an unauthorized caller nothing about the account.
            let size = inline_document(policy_document)?;
            let tx = self.begin_write(&account_id).await?;
            let (mut tx, entity) = self.write_entity(tx, caller, (kind, &name), &action, |r| r, parameters).await?;
            if !replace {
                let taken = sqlx::query("SELECT 1 FROM inline_policies WHERE entity_id = $1 AND name_key = $2")
                    .bind(&entity.id)
                    .bind(policy.key())
                    .fetch_optional(&mut *tx)
                    .await?;
                if taken.is_some() {
                    return Err(IamError::EntityAlreadyExists(format!(
                        "A policy called {policy} already exists. Duplicate names are not allowed."
                    )));
                }
            }
            // The quota sums the entity's other inline documents, measured as AWS measures them.
            let others: usize =
                sqlx::query("SELECT document FROM inline_policies WHERE entity_id = $1 AND name_key <> $2")
                    .bind(&entity.id)
                    .bind(policy.key())
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| {
                        r.try_get::<String, _>("document").map(|d| iam_policy::validate::size_without_whitespace(&d))
                    })
                    .sum::<Result<usize, sqlx::Error>>()?;
            let total = others.saturating_add(size);
            if total > kind.inline_quota() {
                return Err(IamError::LimitExceeded(format!(
                    "Maximum policy size of {} bytes exceeded for {} {}",
                    kind.inline_quota(),
                    kind.as_str(),
                    entity.name
                )));
            }
            sqlx::query("DELETE FROM inline_policies WHERE entity_id = $1 AND name_key = $2")
                .bind(&entity.id)
                .bind(policy.key())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO inline_policies (account_id, entity_id, entity_kind, policy_name, name_key, document) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&account_id)
            .bind(&entity.id)
            .bind(kind.as_str())
            .bind(policy.as_str())
            .bind(policy.key())
            .bind(policy_document)
            .execute(&mut *tx)
            .await?;
            let event =
                Event { action: &action, target: Some(&entity.arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:GetUserPolicy`, `iam:GetGroupPolicy`, `iam:GetRolePolicy`.
    pub async fn get_inline_policy(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, IamError> {
        let name = kind.parse_name(entity_name)?;
        let policy = PolicyName::parse(policy_name)?;
        let action = format!("iam:Get{}Policy", kind.label());
        let mut conn = self.store().pool().acquire().await?;
        let entity = self
            .read_entity(
                &mut conn,
                caller,
                kind,
                &name,
                &action,
                || serde_json::json!({ format!("{}Name", kind.label()): name, "PolicyName": policy.as_str() }),
            )
            .await?;
        let row =
            sqlx::query("SELECT policy_name, document FROM inline_policies WHERE entity_id = $1 AND name_key = $2")
                .bind(&entity.id)
                .bind(policy.key())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| {
                    IamError::NoSuchEntity(format!("The {} policy with name {policy} cannot be found.", kind.as_str()))
                })?;
        Ok(InlinePolicy {
            entity_name: entity.name,
            policy_name: row.try_get("policy_name")?,
            document: row.try_get("document")?,
        })
    }

    /// `iam:DeleteUserPolicy`, `iam:DeleteGroupPolicy`, `iam:DeleteRolePolicy`.
    pub async fn delete_inline_policy(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = kind.parse_name(entity_name)?;
            let policy = PolicyName::parse(policy_name)?;
            let account_id = caller.account_id().to_owned();
            let action = format!("iam:Delete{}Policy", kind.label());
            let tx = self.begin_write(&account_id).await?;
            let parameters =
                || serde_json::json!({ format!("{}Name", kind.label()): name, "PolicyName": policy.as_str() });
            let (mut tx, entity) = self.write_entity(tx, caller, (kind, &name), &action, |r| r, parameters).await?;
            let deleted = sqlx::query("DELETE FROM inline_policies WHERE entity_id = $1 AND name_key = $2")
                .bind(&entity.id)
                .bind(policy.key())
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!(
                    "The {} policy with name {policy} cannot be found.",
                    kind.as_str()
                )));
            }
            let event =
                Event { action: &action, target: Some(&entity.arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:ListUserPolicies`, `iam:ListGroupPolicies`, `iam:ListRolePolicies`: inline policy names.
    pub async fn list_inline_policies(
        &self,
        caller: &Caller,
        kind: EntityKind,
        entity_name: &str,
    ) -> Result<Vec<String>, IamError> {
        let name = kind.parse_name(entity_name)?;
        let action = format!("iam:List{}Policies", kind.label());
        let mut conn = self.store().pool().acquire().await?;
        let entity = self
            .read_entity(
                &mut conn,
                caller,
                kind,
                &name,
                &action,
                || serde_json::json!({ format!("{}Name", kind.label()): name }),
            )
            .await?;
        let rows = sqlx::query("SELECT policy_name FROM inline_policies WHERE entity_id = $1 ORDER BY name_key")
            .bind(&entity.id)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows.iter().map(|r| r.try_get("policy_name")).collect::<Result<_, sqlx::Error>>()?)
    }
}

/// The account a policy ARN's actions are authorized in: the caller's for AWS managed policies
/// (which every account reads), else the ARN's own.
fn resource_account<'a>(target: &'a PolicyArn, caller_account: &'a str) -> &'a str {
    if target.account == "aws" { caller_account } else { &target.account }
}

fn customer_policy(row: PolicyRow, counts: (i64, i64), tags: Vec<Tag>) -> ManagedPolicy {
    ManagedPolicy {
        policy_name: row.policy_name,
        policy_id: row.policy_id,
        arn: row.arn,
        path: row.path,
        default_version_id: row.default_version,
        attachment_count: counts.0,
        permissions_boundary_usage_count: counts.1,
        is_attachable: true,
        description: row.description,
        create_date: Timestamp::from_millis(row.created_at),
        update_date: Timestamp::from_millis(row.updated_at),
        tags,
        aws_managed: false,
    }
}

/// The managed policies attached to an entity, by name.
pub(crate) async fn attached_policies(
    conn: &mut AnyConnection,
    entity: &Entity,
) -> Result<Vec<AttachedPolicy>, IamError> {
    let rows = sqlx::query("SELECT policy_arn FROM policy_attachments WHERE entity_id = $1")
        .bind(&entity.id)
        .fetch_all(conn)
        .await?;
    let mut out: Vec<AttachedPolicy> = rows
        .iter()
        .map(|r| {
            let arn: String = r.try_get("policy_arn")?;
            let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
            Ok(AttachedPolicy { policy_name: name, policy_arn: arn })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    out.sort_by_key(|p| p.policy_name.to_ascii_lowercase());
    Ok(out)
}

fn policy_exists(name: &PolicyName, arn: &str) -> IamError {
    IamError::EntityAlreadyExists(format!(
        "A policy called {name} already exists. Duplicate names are not allowed. ({arn})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_are_checked() {
        let p = parse_policy_arn("arn:aws:iam::111122223333:policy/team/ReadReports").unwrap();
        assert_eq!(p.account, "111122223333");
        assert_eq!(parse_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess").unwrap().account, "aws");
        for bad in [
            "ReadOnlyAccess",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:s3:::policy/x",
            "arn:aws:iam::12:policy/x",
            "arn:aws:iam::111122223333:policy/",
            "arn:aws:iam::111122223333:policy/bad name",
        ] {
            assert_eq!(parse_policy_arn(bad).err().map(|e| e.code()), Some("InvalidInput"), "{bad}");
        }
    }

    #[test]
    fn aws_policy_ids_look_like_aws_and_are_stable() {
        let id = aws_policy_id("arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("ANPA"));
        assert_eq!(id, aws_policy_id("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert_ne!(id, aws_policy_id("arn:aws:iam::aws:policy/IAMFullAccess"));
    }

    #[test]
    fn documents_are_refused_with_aws_codes() {
        assert_eq!(managed_document("{").unwrap_err().code(), "MalformedPolicyDocument");
        assert_eq!(managed_document("").unwrap_err().code(), "ValidationError");
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            (0..400).map(|i| format!("\"arn:aws:s3:::bucket/{i}\"")).collect::<Vec<_>>().join(",")
        );
        assert_eq!(managed_document(&big).unwrap_err().code(), "LimitExceeded");
        assert!(inline_document(&big).is_ok(), "inline policies are limited by their sum instead");
        let with_principal =
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#;
        assert_eq!(inline_document(with_principal).unwrap_err().code(), "MalformedPolicyDocument");
        assert_eq!(version_number("v12"), Some(12));
        assert_eq!(version_number("12"), None);
    }
}
