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

/// Renames and/or moves a user or group (`UpdateUser`, `UpdateGroup`). AWS asks for permission on
/// both the entity as it is and as it will be. Its ARN changes, so what policies match changes:
/// the write commits as a permission change.
pub(crate) async fn rename(
    iam: &crate::Iam,
    caller: &crate::Caller,
    kind: EntityKind,
    name: &str,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Result<(), IamError> {
    use crate::authz::Request;
    let name = kind.parse_name(name)?;
    let new_name = new_name.map(|n| kind.parse_name(n)).transpose()?;
    let new_path = new_path.map(crate::names::IamPath::parse).transpose()?;
    let account_id = caller.account_id().to_owned();
    let action = format!("iam:Update{}", kind.label());
    let parameters = || {
        serde_json::json!({ format!("{}Name", kind.label()): name, format!("New{}Name", kind.label()): new_name,
                            "NewPath": new_path.as_ref().map(|p| p.as_str()) })
    };
    let tx = iam.begin_write(&account_id).await?;
    let (tx, entity) = iam.write_entity(tx, caller, (kind, &name), &action, |r| r, parameters).await?;
    let path = new_path.as_ref().map_or(entity.path.as_str(), |p| p.as_str()).to_owned();
    let renamed = new_name.clone().unwrap_or_else(|| entity.name.clone());
    let new_arn = entity_arn(&account_id, kind, &path, &renamed);
    let mut tx = if new_arn == entity.arn {
        tx
    } else {
        iam.authorize_holding(tx, caller, Request::new(&action, &new_arn, &account_id), parameters).await?
    };
    if let Some(other) = find(&mut tx, &account_id, kind, &renamed).await?
        && other.id != entity.id
    {
        return Err(IamError::EntityAlreadyExists(format!("{} with name {renamed} already exists.", kind.label())));
    }
    let (table, id, name_column) = kind.table();
    let sql = format!("UPDATE {table} SET {name_column} = $2, name_key = $3, path = $4 WHERE {id} = $1");
    sqlx::query(&sql)
        .bind(&entity.id)
        .bind(&renamed)
        .bind(renamed.to_ascii_lowercase())
        .bind(&path)
        .execute(&mut *tx)
        .await?;
    let event =
        crate::audit::Event { action: &action, target: Some(&new_arn), parameters: parameters(), outcome: "Success" };
    crate::audit::append(&mut tx, caller, iam.now(), &event).await?;
    iam.commit_permissions(tx, &account_id).await
}

impl crate::Iam {
    /// `iam:UpdateUser`: a new name and/or path. The user's sessions, keys and policies stay.
    pub async fn update_user(
        &self,
        caller: &crate::Caller,
        user_name: &str,
        new_user_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            rename(self, caller, EntityKind::User, user_name, new_user_name, new_path).await
        })
        .await
    }

    /// `iam:UpdateGroup`: a new name and/or path. Members and policies stay.
    pub async fn update_group(
        &self,
        caller: &crate::Caller,
        group_name: &str,
        new_group_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            rename(self, caller, EntityKind::Group, group_name, new_group_name, new_path).await
        })
        .await
    }
}

impl crate::Iam {
    /// Finds the `kind` named `name` (already checked) in the caller's account and authorizes
    /// `action` on it: on its ARN when it exists, so that path-scoped policies apply, else on
    /// `KIND/NAME`; an unauthorized caller learns nothing of whether it exists. Then
    /// `NoSuchEntity` when it does not.
    pub(crate) async fn read_entity(
        &self,
        conn: &mut AnyConnection,
        caller: &crate::Caller,
        kind: EntityKind,
        name: &str,
        action: &str,
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<Entity, IamError> {
        let account_id = caller.account_id();
        let found = find(conn, account_id, kind, name).await?;
        let arn = target_arn(account_id, kind, found.as_ref(), name);
        let request = crate::authz::Request::new(action, &arn, account_id);
        self.authorize_or_record_using(Some(conn), caller, request, parameters).await?;
        found.ok_or_else(|| kind.no_such(name))
    }

    /// As [`Iam::read_entity`], inside the write transaction `tx` (which a refusal rolls back),
    /// with the request's extra context keys added by `extend`.
    pub(crate) async fn write_entity(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        caller: &crate::Caller,
        (kind, name): (EntityKind, &str),
        action: &str,
        extend: impl for<'r> FnOnce(crate::authz::Request<'r>) -> crate::authz::Request<'r>,
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Any>, Entity), IamError> {
        let account_id = caller.account_id();
        let found = find(&mut tx, account_id, kind, name).await?;
        let arn = target_arn(account_id, kind, found.as_ref(), name);
        let request = extend(crate::authz::Request::new(action, &arn, account_id));
        let tx = self.authorize_holding(tx, caller, request, parameters).await?;
        let entity = found.ok_or_else(|| kind.no_such(name))?;
        Ok((tx, entity))
    }
}

/// Whose credentials (access keys, MFA devices) an action is about: a named user, or, when no user
/// name is given, the caller itself, the root user included.
#[derive(Debug, Clone)]
pub(crate) struct CredentialOwner {
    /// The user id, or the account id for the root user (the `owner_id` of credential rows).
    pub id: String,
    /// The user name, or AWS's `<root_account>` for the root user.
    pub name: String,
    pub arn: String,
    pub is_root: bool,
}

/// The name AWS reports for the root user (credential report, key and device owners).
pub const ROOT_ACCOUNT_NAME: &str = "<root_account>";

impl crate::Iam {
    /// Finds the owner of the credentials an action is about and authorizes `action` on it; a
    /// named user that does not exist is `NoSuchEntity`, answered after authorization.
    pub(crate) async fn credential_owner(
        &self,
        caller: &crate::Caller,
        user_name: Option<&str>,
        action: &str,
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<CredentialOwner, IamError> {
        use crate::caller::Principal;
        let account_id = caller.account_id();
        if let Some(name) = user_name {
            let name = EntityKind::User.parse_name(name)?;
            let mut conn = self.store().pool().acquire().await?;
            let user = self.read_entity(&mut conn, caller, EntityKind::User, &name, action, parameters).await?;
            return Ok(CredentialOwner { id: user.id, name: user.name, arn: user.arn, is_root: false });
        }
        let arn = caller.principal.arn().to_string();
        self.authorize_or_record(caller, crate::authz::Request::new(action, &arn, account_id), parameters).await?;
        Ok(match &caller.principal {
            Principal::User { user_id, user_name, .. } => {
                CredentialOwner { id: user_id.clone(), name: user_name.clone(), arn, is_root: false }
            }
            Principal::Root { account_id } => {
                CredentialOwner { id: account_id.clone(), name: ROOT_ACCOUNT_NAME.to_owned(), arn, is_root: true }
            }
        })
    }
}
