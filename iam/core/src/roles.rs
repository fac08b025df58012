//! IAM roles: `CreateRole`, `GetRole`, `ListRoles`, `UpdateRole`, `UpdateRoleDescription`,
//! `UpdateAssumeRolePolicy`, `DeleteRole`. A role's trust policy says who may assume it; its
//! permissions come from its inline and attached policies, capped by its boundary.

use iam_policy::{Arn, PolicyKind, parse_and_validate};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::entities::{self, EntityKind};
use crate::error::{IamError, is_unique_violation};
use crate::groups::page_of;
use crate::ids::{self, IdKind};
use crate::names::{IamPath, RoleName, Tag};
use crate::policies::document_error;
use crate::tagging::{load_tags, tags_json};
use crate::users::{Page, decode_marker, page_size};

/// Roles per account (AWS's default quota).
pub const MAX_ROLES_PER_ACCOUNT: i64 = 1_000;
/// The range of `MaxSessionDuration`, in seconds.
pub const SESSION_DURATION: std::ops::RangeInclusive<i64> = 3_600..=43_200;
/// The size of a trust policy (AWS's `ACLSizePerRole` default), in characters without whitespace.
pub const TRUST_POLICY_QUOTA: usize = 2_048;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Role {
    pub role_name: String,
    pub role_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: Timestamp,
    /// The trust policy, as JSON text (URL-encoded on the wire, as AWS does).
    pub assume_role_policy_document: String,
    pub description: String,
    pub max_session_duration: i64,
    pub permissions_boundary_arn: Option<String>,
    pub tags: Vec<Tag>,
    pub last_used_date: Option<Timestamp>,
    pub last_used_region: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateRole {
    pub role_name: String,
    pub path: Option<String>,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

const ROLE_COLUMNS: &str = "role_id, role_name, path, created_at, trust_policy, description, max_session_duration, \
                            permissions_boundary_arn, last_used_at, last_used_region";

fn role_from_row(account_id: &str, row: &AnyRow, tags: Vec<Tag>) -> Result<Role, sqlx::Error> {
    let (role_name, path): (String, String) = (row.try_get("role_name")?, row.try_get("path")?);
    Ok(Role {
        arn: entities::entity_arn(account_id, EntityKind::Role, &path, &role_name),
        role_id: row.try_get("role_id")?,
        role_name,
        path,
        create_date: Timestamp::from_millis(row.try_get("created_at")?),
        assume_role_policy_document: row.try_get("trust_policy")?,
        description: row.try_get("description")?,
        max_session_duration: row.try_get("max_session_duration")?,
        permissions_boundary_arn: row.try_get("permissions_boundary_arn")?,
        tags,
        last_used_date: row.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp::from_millis),
        last_used_region: row.try_get("last_used_region")?,
    })
}

fn check_trust_policy(text: &str) -> Result<(), IamError> {
    if text.is_empty() || text.chars().count() > 131_072 {
        return Err(IamError::ValidationError(
            "1 validation error detected: Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member \
             must have length between 1 and 131072"
                .to_owned(),
        ));
    }
    if iam_policy::validate::size_without_whitespace(text) > TRUST_POLICY_QUOTA {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}")));
    }
    parse_and_validate(text, PolicyKind::Trust).map(|_| ()).map_err(document_error)
}

fn check_description(description: &str) -> Result<(), IamError> {
    if description.chars().count() > 1000 {
        return Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{description}' at 'description' failed to satisfy constraint: \
             Member must have length less than or equal to 1000"
        )));
    }
    Ok(())
}

fn check_session_duration(seconds: i64) -> Result<(), IamError> {
    if !SESSION_DURATION.contains(&seconds) {
        return Err(IamError::ValidationError(format!(
            "1 validation error detected: Value '{seconds}' at 'maxSessionDuration' failed to satisfy constraint: \
             Member must have value between 3600 and 43200"
        )));
    }
    Ok(())
}

impl Iam {
    /// `iam:CreateRole`.
    pub async fn create_role(&self, caller: &Caller, input: CreateRole) -> Result<Role, IamError> {
        self.record_failures(caller, async move {
            let name = RoleName::parse(&input.role_name)?;
            let path = input.path.as_deref().map(IamPath::parse).transpose()?.unwrap_or_default();
            let description = input.description.unwrap_or_default();
            check_description(&description)?;
            let max_session = input.max_session_duration.unwrap_or(3_600);
            check_session_duration(max_session)?;
            let tags = Tag::parse_list(&input.tags)?;
            let account_id = caller.account_id().to_owned();
            let arn = entities::entity_arn(&account_id, EntityKind::Role, path.as_str(), name.as_str());
            let boundary = input.permissions_boundary.clone();
            let parameters = || {
                serde_json::json!({ "RoleName": name.as_str(), "Path": path.as_str(), "Description": description,
                                "MaxSessionDuration": max_session, "PermissionsBoundary": boundary,
                                "Tags": tags_json(&tags) })
            };
            let mut request = Request::new("iam:CreateRole", &arn, &account_id).with_request_tags(&tags).creating();
            if let Some(b) = &boundary {
                request = request.with("iam:PermissionsBoundary", b.clone());
            }
            self.authorize_or_record(caller, request, parameters).await?;
            self.authorize_tags_at_creation(caller, "iam:TagRole", &arn, &tags, parameters).await?;
            check_trust_policy(&input.assume_role_policy_document)?;

            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            if let Some(b) = &boundary
                && !crate::policies::is_usable_policy(&mut tx, &account_id, b).await?
            {
                return Err(crate::policies::no_such_policy(b));
            }
            if entities::find(&mut tx, &account_id, EntityKind::Role, name.as_str()).await?.is_some() {
                return Err(role_exists(&name));
            }
            let roles: i64 = sqlx::query("SELECT COUNT(*) AS n FROM roles WHERE account_id = $1")
                .bind(&account_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if roles >= MAX_ROLES_PER_ACCOUNT {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for RolesPerAccount: {MAX_ROLES_PER_ACCOUNT}"
                )));
            }
            let role_id = ids::unique_id(IdKind::Role, &mut rand::thread_rng());
            let inserted = sqlx::query(
                "INSERT INTO roles (role_id, account_id, role_name, name_key, path, description, trust_policy, \
             max_session_duration, permissions_boundary_arn, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&role_id)
            .bind(&account_id)
            .bind(name.as_str())
            .bind(name.key())
            .bind(path.as_str())
            .bind(&description)
            .bind(&input.assume_role_policy_document)
            .bind(max_session)
            .bind(&boundary)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(role_exists(&name)),
                other => other?,
            };
            crate::tagging::insert_tags(&mut tx, &account_id, &role_id, &tags).await?;
            let event =
                Event { action: "iam:CreateRole", target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(Role {
                role_name: name.to_string(),
                role_id,
                path: path.to_string(),
                arn,
                create_date: now,
                assume_role_policy_document: input.assume_role_policy_document,
                description,
                max_session_duration: max_session,
                permissions_boundary_arn: boundary,
                tags,
                last_used_date: None,
                last_used_region: None,
            })
        })
        .await
    }

    /// `iam:GetRole`, with its tags.
    pub async fn get_role(&self, caller: &Caller, role_name: &str) -> Result<Role, IamError> {
        let name = RoleName::parse(role_name)?;
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let role = self
            .read_entity(
                &mut conn,
                caller,
                EntityKind::Role,
                name.as_str(),
                "iam:GetRole",
                || serde_json::json!({ "RoleName": name.as_str() }),
            )
            .await?;
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE role_id = $1");
        let row = sqlx::query(&sql).bind(&role.id).fetch_one(&mut *conn).await?;
        let tags = load_tags(&mut conn, &role.id).await?;
        Ok(role_from_row(account_id, &row, tags)?)
    }

    /// `iam:ListRoles`, ordered by name (tags left out, as AWS does).
    pub async fn list_roles(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<Role>, IamError> {
        let account_id = caller.account_id();
        let prefix = path_prefix.unwrap_or("/");
        let limit = page_size(max_items)?;
        let after = marker.map(decode_marker).transpose()?.unwrap_or_default();
        let resource = Arn::iam(account_id, "role/").to_string();
        self.authorize_or_record(
            caller,
            Request::new("iam:ListRoles", &resource, account_id),
            || serde_json::json!({ "PathPrefix": prefix }),
        )
        .await?;
        let sql = format!(
            "SELECT {ROLE_COLUMNS}, name_key FROM roles WHERE account_id = $1 AND substr(path, 1, length($2)) = $2 \
             AND name_key > $3 ORDER BY name_key LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .bind(prefix)
            .bind(&after)
            .bind(limit + 1)
            .fetch_all(self.store().pool())
            .await?;
        page_of(rows, limit, |r| role_from_row(account_id, r, Vec::new()))
    }

    /// `iam:UpdateRole`: the description and the longest session, each when given.
    pub async fn update_role(
        &self,
        caller: &Caller,
        role_name: &str,
        description: Option<&str>,
        max_session_duration: Option<i64>,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            if let Some(d) = description {
                check_description(d)?;
            }
            if let Some(s) = max_session_duration {
                check_session_duration(s)?;
            }
            self.change_role(caller, role_name, "iam:UpdateRole", |params| {
                *params = crate::audit::with_parameter(params.take(), "Description", serde_json::json!(description));
                *params = crate::audit::with_parameter(
                    params.take(),
                    "MaxSessionDuration",
                    serde_json::json!(max_session_duration),
                );
                let mut sets = Vec::new();
                if let Some(d) = description {
                    sets.push(("description", RoleValue::Text(d.to_owned())));
                }
                if let Some(s) = max_session_duration {
                    sets.push(("max_session_duration", RoleValue::Int(s)));
                }
                sets
            })
            .await
        })
        .await
    }

    /// `iam:UpdateRoleDescription`.
    pub async fn update_role_description(
        &self,
        caller: &Caller,
        role_name: &str,
        description: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            check_description(description)?;
            self.change_role(caller, role_name, "iam:UpdateRoleDescription", |params| {
                *params = crate::audit::with_parameter(params.take(), "Description", serde_json::json!(description));
                vec![("description", RoleValue::Text(description.to_owned()))]
            })
            .await
        })
        .await
    }

    /// `iam:UpdateAssumeRolePolicy`: replaces the trust policy.
    pub async fn update_assume_role_policy(
        &self,
        caller: &Caller,
        role_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            check_trust_policy(document)?;
            self.change_role(caller, role_name, "iam:UpdateAssumeRolePolicy", |_| {
                vec![("trust_policy", RoleValue::Text(document.to_owned()))]
            })
            .await
        })
        .await
    }

    async fn change_role(
        &self,
        caller: &Caller,
        role_name: &str,
        action: &str,
        changes: impl FnOnce(&mut serde_json::Value) -> Vec<(&'static str, RoleValue)>,
    ) -> Result<(), IamError> {
        let name = RoleName::parse(role_name)?;
        let account_id = caller.account_id().to_owned();
        let mut params = serde_json::json!({ "RoleName": name.as_str() });
        let sets = changes(&mut params);
        let tx = self.begin_write(&account_id).await?;
        let parameters = || params.clone();
        let (mut tx, role) =
            self.write_entity(tx, caller, (EntityKind::Role, name.as_str()), action, |r| r, parameters).await?;
        for (column, value) in sets {
            let sql = format!("UPDATE roles SET {column} = $2 WHERE role_id = $1");
            let query = sqlx::query(&sql).bind(&role.id);
            match value {
                RoleValue::Text(t) => query.bind(t).execute(&mut *tx).await?,
                RoleValue::Int(i) => query.bind(i).execute(&mut *tx).await?,
            };
        }
        let event = Event { action, target: Some(&role.arn), parameters: parameters(), outcome: "Success" };
        audit::append(&mut tx, caller, self.now(), &event).await?;
        self.commit_permissions(tx, &account_id).await
    }

    /// Deletes a role and its policies, as AWS's console does: the inline policies are deleted and
    /// the managed policies detached, then the role, all or nothing, each step authorized under its
    /// own action (`GetRole`, `ListRolePolicies`, `ListAttachedRolePolicies`, `DeleteRolePolicy`,
    /// `DetachRolePolicy`, `DeleteRole`) and audited.
    pub async fn delete_role_and_dependents(&self, caller: &Caller, role_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, self.delete_with_dependents(caller, EntityKind::Role, role_name)).await
    }

    /// `iam:DeleteRole`. Like AWS, refuses while the role has policies.
    pub async fn delete_role(&self, caller: &Caller, role_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = RoleName::parse(role_name)?;
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ "RoleName": name.as_str() });
            let (mut tx, role) = self
                .write_entity(tx, caller, (EntityKind::Role, name.as_str()), "iam:DeleteRole", |r| r, parameters)
                .await?;
            let conflicts = [
                ("SELECT COUNT(*) AS n FROM inline_policies WHERE entity_id = $1", "must delete policies first"),
                ("SELECT COUNT(*) AS n FROM policy_attachments WHERE entity_id = $1", "must detach all policies first"),
            ];
            for (sql, what) in conflicts {
                let n: i64 = sqlx::query(sql).bind(&role.id).fetch_one(&mut *tx).await?.try_get("n")?;
                if n > 0 {
                    return Err(IamError::DeleteConflict(format!("Cannot delete entity, {what}.")));
                }
            }
            for sql in [
                "DELETE FROM tags WHERE entity_id = $1",
                "DELETE FROM service_access WHERE principal_id = $1",
                "DELETE FROM roles WHERE role_id = $1",
            ] {
                sqlx::query(sql).bind(&role.id).execute(&mut *tx).await?;
            }
            let event = Event {
                action: "iam:DeleteRole",
                target: Some(&role.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }
}

enum RoleValue {
    Text(String),
    Int(i64),
}

fn role_exists(name: &RoleName) -> IamError {
    IamError::EntityAlreadyExists(format!("Role with name {name} already exists."))
}
