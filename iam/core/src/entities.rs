//! What users, groups and roles share where policies are concerned: finding one by name, its ARN,
//! the names of its kind's actions, and its kind's limits.

use iam_policy::Arn;
use sqlx::{AnyConnection, Row as _};

use crate::error::IamError;
use crate::names::{GroupName, RoleName, UserName};

/// The principals and groups policies attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    /// As stored (`entity_kind` columns) and as it appears in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }

    pub fn parse(stored: &str) -> Option<EntityKind> {
        match stored {
            "user" => Some(EntityKind::User),
            "group" => Some(EntityKind::Group),
            "role" => Some(EntityKind::Role),
            _ => None,
        }
    }

    /// As AWS's action names spell it: `AttachUserPolicy`, `PutGroupPolicy`, ...
    pub fn label(self) -> &'static str {
        match self {
            EntityKind::User => "User",
            EntityKind::Group => "Group",
            EntityKind::Role => "Role",
        }
    }

    fn table(self) -> (&'static str, &'static str, &'static str) {
        match self {
            EntityKind::User => ("users", "user_id", "user_name"),
            EntityKind::Group => ("iam_groups", "group_id", "group_name"),
            EntityKind::Role => ("roles", "role_id", "role_name"),
        }
    }

    /// Checks a name with the kind's rules (64 characters for users and roles, 128 for groups).
    pub fn parse_name(self, name: &str) -> Result<String, IamError> {
        Ok(match self {
            EntityKind::User => UserName::parse(name)?.to_string(),
            EntityKind::Group => GroupName::parse(name)?.to_string(),
            EntityKind::Role => RoleName::parse(name)?.to_string(),
        })
    }

    /// The summed size of an entity's inline policies (characters without whitespace).
    pub fn inline_quota(self) -> usize {
        match self {
            EntityKind::User => 2_048,
            EntityKind::Group => 5_120,
            EntityKind::Role => 10_240,
        }
    }

    /// Managed policies attached to one entity.
    pub const ATTACHED_QUOTA: i64 = 10;

    pub fn no_such(self, name: &str) -> IamError {
        IamError::NoSuchEntity(format!("The {} with name {name} cannot be found.", self.as_str()))
    }

    /// The ARN an action on the entity `name` is authorized against when it does not exist (its
    /// path is unknown): `KIND/NAME`.
    pub fn arn_without_path(self, account_id: &str, name: &str) -> String {
        Arn::iam(account_id, format!("{}/{name}", self.as_str())).to_string()
    }
}

/// A user, group or role, as policies see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub kind: EntityKind,
    pub id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
}

pub(crate) fn entity_arn(account_id: &str, kind: EntityKind, path: &str, name: &str) -> String {
    Arn::iam(account_id, format!("{}{path}{name}", kind.as_str())).to_string()
}

/// Finds an entity by name (ignoring case) in an account.
pub(crate) async fn find(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: EntityKind,
    name: &str,
) -> Result<Option<Entity>, IamError> {
    let (table, id, name_column) = kind.table();
    let sql =
        format!("SELECT {id} AS id, {name_column} AS name, path FROM {table} WHERE account_id = $1 AND name_key = $2");
    let row = sqlx::query(&sql).bind(account_id).bind(name.to_ascii_lowercase()).fetch_optional(conn).await?;
    let Some(row) = row else { return Ok(None) };
    let (name, path): (String, String) = (row.try_get("name")?, row.try_get("path")?);
    Ok(Some(Entity { kind, id: row.try_get("id")?, arn: entity_arn(account_id, kind, &path, &name), name, path }))
}

/// The entity's ARN when it exists (so path-scoped policies apply), else `KIND/NAME`; authorizing
/// against either never tells an unauthorized caller whether the entity exists.
pub(crate) fn target_arn(account_id: &str, kind: EntityKind, found: Option<&Entity>, name: &str) -> String {
    match found {
        Some(e) => e.arn.clone(),
        None => kind.arn_without_path(account_id, name),
    }
}
