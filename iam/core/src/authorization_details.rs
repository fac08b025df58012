//! `GetAccountAuthorizationDetails`: every user, group, role and managed policy of the account with
//! their policies, memberships, attachments, boundaries and tags, in one answer, read with a few
//! whole-account queries. What audit tools and `aws iam get-account-authorization-details` expect.

use std::collections::HashMap;

use sqlx::Row as _;

use crate::Iam;
use crate::authz::Request;
use crate::aws_managed;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::entities::{EntityKind, entity_arn};
use crate::error::IamError;
use crate::names::Tag;
use crate::policies::{AttachedPolicy, ManagedPolicy, PolicyVersion};

/// Which kinds of entity to include (`Filter`); all when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailFilter {
    User,
    Role,
    Group,
    LocalManagedPolicy,
    AwsManagedPolicy,
}

/// An inline policy as the details list it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlineDetail {
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserDetail {
    pub path: String,
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub create_date: Timestamp,
    pub user_policy_list: Vec<InlineDetail>,
    pub group_list: Vec<String>,
    pub attached_managed_policies: Vec<AttachedPolicy>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupDetail {
    pub path: String,
    pub group_name: String,
    pub group_id: String,
    pub arn: String,
    pub create_date: Timestamp,
    pub group_policy_list: Vec<InlineDetail>,
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleDetail {
    pub path: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: Timestamp,
    pub assume_role_policy_document: String,
    pub role_policy_list: Vec<InlineDetail>,
    pub attached_managed_policies: Vec<AttachedPolicy>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

/// A managed policy with every version and its document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyDetail {
    pub policy: ManagedPolicy,
    pub policy_version_list: Vec<PolicyVersion>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizationDetails {
    pub user_detail_list: Vec<UserDetail>,
    pub group_detail_list: Vec<GroupDetail>,
    pub role_detail_list: Vec<RoleDetail>,
    pub policies: Vec<PolicyDetail>,
}

fn attached(arns: Option<&Vec<String>>) -> Vec<AttachedPolicy> {
    let mut out: Vec<AttachedPolicy> = arns
        .map(|list| {
            list.iter()
                .map(|arn| AttachedPolicy {
                    policy_name: arn.rsplit('/').next().unwrap_or_default().to_owned(),
                    policy_arn: arn.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|p| p.policy_name.to_ascii_lowercase());
    out
}

impl Iam {
    /// `iam:GetAccountAuthorizationDetails`.
    pub async fn get_account_authorization_details(
        &self,
        caller: &Caller,
        filter: &[DetailFilter],
    ) -> Result<AuthorizationDetails, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(
            caller,
            Request::new("iam:GetAccountAuthorizationDetails", "*", account_id),
            || serde_json::json!({ "Filter": filter.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>() }),
        )
        .await?;
        let wants = |f: DetailFilter| filter.is_empty() || filter.contains(&f);
        let mut conn = self.store().pool().acquire().await?;

        // Inline policies, attachments and tags of the whole account, by entity id.
        let mut inline: HashMap<String, Vec<InlineDetail>> = HashMap::new();
        for r in sqlx::query(
            "SELECT entity_id, policy_name, document FROM inline_policies WHERE account_id = $1 ORDER BY name_key",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        {
            inline
                .entry(r.try_get("entity_id")?)
                .or_default()
                .push(InlineDetail { policy_name: r.try_get("policy_name")?, policy_document: r.try_get("document")? });
        }
        let mut attachments: HashMap<String, Vec<String>> = HashMap::new();
        let mut attachment_counts: HashMap<String, i64> = HashMap::new();
        for r in sqlx::query("SELECT entity_id, policy_arn FROM policy_attachments WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?
        {
            let arn: String = r.try_get("policy_arn")?;
            *attachment_counts.entry(arn.clone()).or_default() += 1;
            attachments.entry(r.try_get("entity_id")?).or_default().push(arn);
        }
        let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
        for r in sqlx::query(
            "SELECT entity_id, tag_key, tag_value FROM tags WHERE account_id = $1 ORDER BY entity_id, position",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        {
            tags.entry(r.try_get("entity_id")?)
                .or_default()
                .push(Tag { key: r.try_get("tag_key")?, value: r.try_get("tag_value")? });
        }
        let mut boundary_counts: HashMap<String, i64> = HashMap::new();
        let mut details = AuthorizationDetails::default();

        let mut groups_of: HashMap<String, Vec<String>> = HashMap::new();
        for r in sqlx::query(
            "SELECT m.user_id, g.group_name FROM group_members m JOIN iam_groups g ON g.group_id = m.group_id \
             WHERE m.account_id = $1 ORDER BY g.name_key",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        {
            groups_of.entry(r.try_get("user_id")?).or_default().push(r.try_get("group_name")?);
        }
        for r in sqlx::query(
            "SELECT user_id, user_name, path, created_at, permissions_boundary_arn FROM users WHERE account_id = $1 \
             ORDER BY name_key",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        {
            let (id, name, path): (String, String, String) =
                (r.try_get("user_id")?, r.try_get("user_name")?, r.try_get("path")?);
            let boundary: Option<String> = r.try_get("permissions_boundary_arn")?;
            if let Some(b) = &boundary {
                *boundary_counts.entry(b.clone()).or_default() += 1;
            }
            if wants(DetailFilter::User) {
                details.user_detail_list.push(UserDetail {
                    arn: entity_arn(account_id, EntityKind::User, &path, &name),
                    user_policy_list: inline.remove(&id).unwrap_or_default(),
                    group_list: groups_of.remove(&id).unwrap_or_default(),
                    attached_managed_policies: attached(attachments.get(&id)),
                    tags: tags.remove(&id).unwrap_or_default(),
                    create_date: Timestamp::from_millis(r.try_get("created_at")?),
                    permissions_boundary: boundary,
                    user_id: id,
                    user_name: name,
                    path,
                });
            }
        }
        if wants(DetailFilter::Group) {
            for r in sqlx::query(
                "SELECT group_id, group_name, path, created_at FROM iam_groups WHERE account_id = $1 ORDER BY name_key",
            )
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?
            {
                let (id, name, path): (String, String, String) =
                    (r.try_get("group_id")?, r.try_get("group_name")?, r.try_get("path")?);
                details.group_detail_list.push(GroupDetail {
                    arn: entity_arn(account_id, EntityKind::Group, &path, &name),
                    group_policy_list: inline.remove(&id).unwrap_or_default(),
                    attached_managed_policies: attached(attachments.get(&id)),
                    create_date: Timestamp::from_millis(r.try_get("created_at")?),
                    group_id: id,
                    group_name: name,
                    path,
                });
            }
        }
        for r in sqlx::query(
            "SELECT role_id, role_name, path, created_at, trust_policy, permissions_boundary_arn FROM roles \
             WHERE account_id = $1 ORDER BY name_key",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?
        {
            let (id, name, path): (String, String, String) =
                (r.try_get("role_id")?, r.try_get("role_name")?, r.try_get("path")?);
            let boundary: Option<String> = r.try_get("permissions_boundary_arn")?;
            if let Some(b) = &boundary {
                *boundary_counts.entry(b.clone()).or_default() += 1;
            }
            if wants(DetailFilter::Role) {
                details.role_detail_list.push(RoleDetail {
                    arn: entity_arn(account_id, EntityKind::Role, &path, &name),
                    assume_role_policy_document: r.try_get("trust_policy")?,
                    role_policy_list: inline.remove(&id).unwrap_or_default(),
                    attached_managed_policies: attached(attachments.get(&id)),
                    tags: tags.remove(&id).unwrap_or_default(),
                    create_date: Timestamp::from_millis(r.try_get("created_at")?),
                    permissions_boundary: boundary,
                    role_id: id,
                    role_name: name,
                    path,
                });
            }
        }
        if wants(DetailFilter::AwsManagedPolicy) {
            // AWS lists the AWS managed policies the account uses.
            for p in aws_managed::all() {
                let count = attachment_counts.get(&p.arn).copied().unwrap_or(0);
                let boundaries = boundary_counts.get(&p.arn).copied().unwrap_or(0);
                if count == 0 && boundaries == 0 {
                    continue;
                }
                let policy = crate::policies::aws_policy(p, (count, boundaries));
                details.policies.push(PolicyDetail {
                    policy_version_list: vec![PolicyVersion {
                        document: p.document.clone(),
                        version_id: aws_managed::VERSION_ID.to_owned(),
                        is_default_version: true,
                        create_date: policy.create_date,
                    }],
                    policy,
                });
            }
        }
        if wants(DetailFilter::LocalManagedPolicy) {
            let mut versions: HashMap<String, Vec<PolicyVersion>> = HashMap::new();
            for r in sqlx::query(
                "SELECT v.policy_id, v.version_id, v.document, v.created_at, m.default_version FROM policy_versions v \
                 JOIN managed_policies m ON m.policy_id = v.policy_id WHERE m.account_id = $1",
            )
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?
            {
                let version_id: String = r.try_get("version_id")?;
                let default: String = r.try_get("default_version")?;
                versions.entry(r.try_get("policy_id")?).or_default().push(PolicyVersion {
                    document: r.try_get("document")?,
                    is_default_version: version_id == default,
                    version_id,
                    create_date: Timestamp::from_millis(r.try_get("created_at")?),
                });
            }
            for r in sqlx::query(
                "SELECT policy_id, policy_name, path, arn, description, default_version, created_at, updated_at \
                 FROM managed_policies WHERE account_id = $1 ORDER BY name_key",
            )
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?
            {
                let id: String = r.try_get("policy_id")?;
                let arn: String = r.try_get("arn")?;
                let mut list = versions.remove(&id).unwrap_or_default();
                list.sort_by_key(|v| {
                    std::cmp::Reverse(v.version_id.trim_start_matches('v').parse::<i64>().unwrap_or(0))
                });
                details.policies.push(PolicyDetail {
                    policy: ManagedPolicy {
                        policy_name: r.try_get("policy_name")?,
                        attachment_count: attachment_counts.get(&arn).copied().unwrap_or(0),
                        permissions_boundary_usage_count: boundary_counts.get(&arn).copied().unwrap_or(0),
                        tags: tags.remove(&id).unwrap_or_default(),
                        policy_id: id,
                        arn,
                        path: r.try_get("path")?,
                        default_version_id: r.try_get("default_version")?,
                        is_attachable: true,
                        description: r.try_get("description")?,
                        create_date: Timestamp::from_millis(r.try_get("created_at")?),
                        update_date: Timestamp::from_millis(r.try_get("updated_at")?),
                        aws_managed: false,
                    },
                    policy_version_list: list,
                });
            }
        }
        Ok(details)
    }
}
