//! IAM groups and their members: `CreateGroup`, `GetGroup`, `ListGroups`, `DeleteGroup`,
//! `AddUserToGroup`, `RemoveUserFromGroup`, `ListGroupsForUser`. A user has the permissions of
//! every group it belongs to, so membership changes commit through [`Iam::commit_permissions`].

use iam_policy::Arn;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::clock::Timestamp;
use crate::entities::{self, EntityKind};
use crate::error::{IamError, is_unique_violation};
use crate::ids::{self, IdKind};
use crate::names::{GroupName, IamPath, UserName};
use crate::users::{Page, User, decode_marker, encode_marker, page_size};

/// Groups per account and groups per user (AWS's default quotas).
pub const MAX_GROUPS_PER_ACCOUNT: i64 = 300;
pub const MAX_GROUPS_PER_USER: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    pub group_name: String,
    pub group_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: Timestamp,
}

/// `GetGroup`'s answer: the group and its members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupWithUsers {
    pub group: Group,
    pub users: Vec<User>,
}

fn group_from_row(account_id: &str, row: &AnyRow) -> Result<Group, sqlx::Error> {
    let (group_name, path): (String, String) = (row.try_get("group_name")?, row.try_get("path")?);
    Ok(Group {
        arn: entities::entity_arn(account_id, EntityKind::Group, &path, &group_name),
        group_id: row.try_get("group_id")?,
        group_name,
        path,
        create_date: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

async fn count(conn: &mut AnyConnection, sql: &str, id: &str) -> Result<i64, IamError> {
    Ok(sqlx::query(sql).bind(id).fetch_one(conn).await?.try_get("n")?)
}

impl Iam {
    /// `iam:CreateGroup`.
    pub async fn create_group(&self, caller: &Caller, group_name: &str, path: Option<&str>) -> Result<Group, IamError> {
        self.record_failures(caller, async move {
            let name = GroupName::parse(group_name)?;
            let path = path.map(IamPath::parse).transpose()?.unwrap_or_default();
            let account_id = caller.account_id().to_owned();
            let arn = entities::entity_arn(&account_id, EntityKind::Group, path.as_str(), name.as_str());
            let parameters = || serde_json::json!({ "GroupName": name.as_str(), "Path": path.as_str() });
            self.authorize_or_record(caller, Request::new("iam:CreateGroup", &arn, &account_id), parameters).await?;
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            if entities::find(&mut tx, &account_id, EntityKind::Group, name.as_str()).await?.is_some() {
                return Err(group_exists(&name));
            }
            let groups =
                count(&mut tx, "SELECT COUNT(*) AS n FROM iam_groups WHERE account_id = $1", &account_id).await?;
            if groups >= MAX_GROUPS_PER_ACCOUNT {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for GroupsPerAccount: {MAX_GROUPS_PER_ACCOUNT}"
                )));
            }
            let group_id = ids::unique_id(IdKind::Group, &mut rand::thread_rng());
            let inserted = sqlx::query(
                "INSERT INTO iam_groups (group_id, account_id, group_name, name_key, path, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&group_id)
            .bind(&account_id)
            .bind(name.as_str())
            .bind(name.key())
            .bind(path.as_str())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(group_exists(&name)),
                other => other?,
            };
            let event =
                Event { action: "iam:CreateGroup", target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(Group { group_name: name.to_string(), group_id, path: path.to_string(), arn, create_date: now })
        })
        .await
    }

    /// `iam:GetGroup`: the group and its users, ordered by name.
    pub async fn get_group(&self, caller: &Caller, group_name: &str) -> Result<GroupWithUsers, IamError> {
        let name = GroupName::parse(group_name)?;
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let entity = self
            .read_entity(
                &mut conn,
                caller,
                EntityKind::Group,
                name.as_str(),
                "iam:GetGroup",
                || serde_json::json!({ "GroupName": name.as_str() }),
            )
            .await?;
        let row = sqlx::query("SELECT group_id, group_name, path, created_at FROM iam_groups WHERE group_id = $1")
            .bind(&entity.id)
            .fetch_one(&mut *conn)
            .await?;
        let group = group_from_row(account_id, &row)?;
        let rows = sqlx::query(
            "SELECT u.user_id, u.user_name, u.path, u.created_at, u.permissions_boundary_arn, \
             p.password_last_used, p.user_id AS profile_user_id \
             FROM group_members m JOIN users u ON u.user_id = m.user_id \
             LEFT JOIN login_profiles p ON p.user_id = u.user_id \
             WHERE m.group_id = $1 ORDER BY u.name_key",
        )
        .bind(&entity.id)
        .fetch_all(&mut *conn)
        .await?;
        let users =
            rows.iter().map(|r| crate::users::user_from_row(account_id, r)).collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(GroupWithUsers { group, users })
    }

    /// `iam:ListGroups`, ordered by name, with AWS's marker pagination.
    pub async fn list_groups(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<Group>, IamError> {
        let account_id = caller.account_id();
        let prefix = path_prefix.unwrap_or("/");
        let limit = page_size(max_items)?;
        let after = marker.map(decode_marker).transpose()?.unwrap_or_default();
        let resource = Arn::iam(account_id, "group/").to_string();
        self.authorize_or_record(
            caller,
            Request::new("iam:ListGroups", &resource, account_id),
            || serde_json::json!({ "PathPrefix": prefix }),
        )
        .await?;
        let rows = sqlx::query(
            "SELECT group_id, group_name, path, created_at, name_key FROM iam_groups WHERE account_id = $1 \
             AND substr(path, 1, length($2)) = $2 AND name_key > $3 ORDER BY name_key LIMIT $4",
        )
        .bind(account_id)
        .bind(prefix)
        .bind(&after)
        .bind(limit + 1)
        .fetch_all(self.store().pool())
        .await?;
        page_of(rows, limit, |r| group_from_row(account_id, r))
    }

    /// `iam:DeleteGroup`. Like AWS, refuses while the group has members or policies.
    pub async fn delete_group(&self, caller: &Caller, group_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let name = GroupName::parse(group_name)?;
            let account_id = caller.account_id().to_owned();
            let tx = self.begin_write(&account_id).await?;
            let parameters = || serde_json::json!({ "GroupName": name.as_str() });
            let (mut tx, group) = self
                .write_entity(tx, caller, (EntityKind::Group, name.as_str()), "iam:DeleteGroup", |r| r, parameters)
                .await?;
            let conflicts = [
                ("SELECT COUNT(*) AS n FROM group_members WHERE group_id = $1", "must remove users from group first"),
                ("SELECT COUNT(*) AS n FROM inline_policies WHERE entity_id = $1", "must delete policies first"),
                ("SELECT COUNT(*) AS n FROM policy_attachments WHERE entity_id = $1", "must detach all policies first"),
            ];
            for (sql, what) in conflicts {
                if count(&mut tx, sql, &group.id).await? > 0 {
                    return Err(IamError::DeleteConflict(format!("Cannot delete entity, {what}.")));
                }
            }
            sqlx::query("DELETE FROM iam_groups WHERE group_id = $1").bind(&group.id).execute(&mut *tx).await?;
            let event = Event {
                action: "iam:DeleteGroup",
                target: Some(&group.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Deletes a group and everything that would block `DeleteGroup`, as AWS's console does when
    /// one deletes a group: its members are removed, its inline policies deleted and its managed
    /// policies detached; then the group. All or nothing: the caller must be allowed each step
    /// (`GetGroup`, `ListGroupPolicies` and `ListAttachedGroupPolicies` to see what is in it;
    /// `RemoveUserFromGroup`, `DeleteGroupPolicy`, `DetachGroupPolicy` with its `iam:PolicyARN`;
    /// and `DeleteGroup`), every one is authorized before anything changes, and one transaction
    /// does them all, each audited. Members lose the group's permissions at once.
    pub async fn delete_group_and_dependents(&self, caller: &Caller, group_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, self.delete_with_dependents(caller, EntityKind::Group, group_name)).await
    }

    /// `iam:AddUserToGroup`: the user gains the group's permissions at once.
    pub async fn add_user_to_group(&self, caller: &Caller, group_name: &str, user_name: &str) -> Result<(), IamError> {
        self.record_failures(caller, async move { self.change_membership(caller, group_name, user_name, true).await })
            .await
    }

    /// `iam:RemoveUserFromGroup`: the user loses the group's permissions at once.
    pub async fn remove_user_from_group(
        &self,
        caller: &Caller,
        group_name: &str,
        user_name: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move { self.change_membership(caller, group_name, user_name, false).await })
            .await
    }

    async fn change_membership(
        &self,
        caller: &Caller,
        group_name: &str,
        user_name: &str,
        add: bool,
    ) -> Result<(), IamError> {
        let name = GroupName::parse(group_name)?;
        let user = UserName::parse(user_name)?;
        let account_id = caller.account_id().to_owned();
        let action = if add { "iam:AddUserToGroup" } else { "iam:RemoveUserFromGroup" };
        let tx = self.begin_write(&account_id).await?;
        let parameters = || serde_json::json!({ "GroupName": name.as_str(), "UserName": user.as_str() });
        let (mut tx, group) =
            self.write_entity(tx, caller, (EntityKind::Group, name.as_str()), action, |r| r, parameters).await?;
        let member = entities::find(&mut tx, &account_id, EntityKind::User, user.as_str())
            .await?
            .ok_or_else(|| EntityKind::User.no_such(user.as_str()))?;
        if add {
            let already = sqlx::query("SELECT 1 AS one FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(&group.id)
                .bind(&member.id)
                .fetch_optional(&mut *tx)
                .await?;
            if already.is_none() {
                let groups =
                    count(&mut tx, "SELECT COUNT(*) AS n FROM group_members WHERE user_id = $1", &member.id).await?;
                if groups >= MAX_GROUPS_PER_USER {
                    return Err(IamError::LimitExceeded(format!(
                        "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
                    )));
                }
                sqlx::query(
                    "INSERT INTO group_members (group_id, user_id, account_id, added_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&group.id)
                .bind(&member.id)
                .bind(&account_id)
                .bind(self.now().as_millis())
                .execute(&mut *tx)
                .await?;
            }
        } else {
            let removed = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(&group.id)
                .bind(&member.id)
                .execute(&mut *tx)
                .await?;
            if removed.rows_affected() == 0 {
                return Err(IamError::NoSuchEntity(format!(
                    "The user with name {} cannot be found in group {}.",
                    member.name, group.name
                )));
            }
        }
        let event = Event { action, target: Some(&group.arn), parameters: parameters(), outcome: "Success" };
        audit::append(&mut tx, caller, self.now(), &event).await?;
        self.commit_permissions(tx, &account_id).await
    }

    /// `iam:ListGroupsForUser`, ordered by name.
    pub async fn list_groups_for_user(&self, caller: &Caller, user_name: &str) -> Result<Vec<Group>, IamError> {
        let user = UserName::parse(user_name)?;
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let member = self
            .read_entity(
                &mut conn,
                caller,
                EntityKind::User,
                user.as_str(),
                "iam:ListGroupsForUser",
                || serde_json::json!({ "UserName": user.as_str() }),
            )
            .await?;
        let rows = sqlx::query(
            "SELECT g.group_id, g.group_name, g.path, g.created_at FROM group_members m \
             JOIN iam_groups g ON g.group_id = m.group_id WHERE m.user_id = $1 ORDER BY g.name_key",
        )
        .bind(&member.id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.iter().map(|r| group_from_row(account_id, r)).collect::<Result<_, sqlx::Error>>()?)
    }
}

/// A page of `limit` items from `limit + 1` rows ordered by `name_key`, with the marker to go on.
pub(crate) fn page_of<T>(
    rows: Vec<AnyRow>,
    limit: i64,
    read: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, IamError> {
    let is_truncated = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    let mut items = Vec::with_capacity(rows.len());
    let mut last_key = None;
    for row in rows.iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
        last_key = Some(row.try_get::<String, _>("name_key")?);
        items.push(read(row)?);
    }
    let marker = if is_truncated { last_key.as_deref().map(encode_marker) } else { None };
    Ok(Page { items, is_truncated, marker })
}

fn group_exists(name: &GroupName) -> IamError {
    IamError::EntityAlreadyExists(format!("Group with name {name} already exists."))
}
