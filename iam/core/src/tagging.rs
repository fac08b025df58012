//! Tags on users, roles, customer managed policies and MFA devices: `Tag*`, `Untag*`, `List*Tags`. Tagging
//! requests carry `aws:RequestTag/KEY` and `aws:TagKeys`, so policies can govern which tags may be
//! set; untagging carries `aws:TagKeys`. Tags are principal tags too (`aws:PrincipalTag/*`), so a
//! change commits through [`Iam::commit_permissions`].

use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::Caller;
use crate::entities::{self, EntityKind};
use crate::error::IamError;
use crate::names::{MAX_TAGS_PER_ENTITY, Tag};

/// What can be tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taggable<'a> {
    User(&'a str),
    Role(&'a str),
    /// A customer managed policy, by ARN.
    Policy(&'a str),
    /// An MFA device, by serial number.
    MfaDevice(&'a str),
}

impl Taggable<'_> {
    fn label(self) -> &'static str {
        match self {
            Taggable::User(_) => "User",
            Taggable::Role(_) => "Role",
            Taggable::Policy(_) => "Policy",
            Taggable::MfaDevice(_) => "MFADevice",
        }
    }

    fn parameter(self) -> serde_json::Value {
        match self {
            Taggable::User(n) => serde_json::json!({ "UserName": n }),
            Taggable::Role(n) => serde_json::json!({ "RoleName": n }),
            Taggable::Policy(arn) => serde_json::json!({ "PolicyArn": arn }),
            Taggable::MfaDevice(serial) => serde_json::json!({ "SerialNumber": serial }),
        }
    }
}

/// The tagged thing's id (the tags' `entity_id`) and ARN; `None` when it does not exist, with the
/// ARN to authorize against anyway.
async fn resolve(
    conn: &mut AnyConnection,
    account_id: &str,
    target: Taggable<'_>,
) -> Result<(Option<String>, String), IamError> {
    match target {
        Taggable::User(name) | Taggable::Role(name) => {
            let kind = if matches!(target, Taggable::User(_)) { EntityKind::User } else { EntityKind::Role };
            let name = kind.parse_name(name)?;
            let found = entities::find(conn, account_id, kind, &name).await?;
            let arn = entities::target_arn(account_id, kind, found.as_ref(), &name);
            Ok((found.map(|e| e.id), arn))
        }
        Taggable::Policy(arn) => {
            if iam_policy::Arn::parse(arn).is_err() {
                return Err(IamError::InvalidInput(format!("ARN {arn} is not valid.")));
            }
            let row = sqlx::query("SELECT policy_id FROM managed_policies WHERE arn = $1 AND account_id = $2")
                .bind(arn)
                .bind(account_id)
                .fetch_optional(conn)
                .await?;
            Ok((row.map(|r| r.try_get("policy_id")).transpose()?, arn.to_owned()))
        }
        Taggable::MfaDevice(serial) => {
            // Virtual devices only, as AWS's TagMFADevice: their serials are ARNs, so their tags
            // (keyed by serial) can never meet another entity's. A hardware token's serial is the
            // owner's word and could be anything, a user's id included.
            let row = sqlx::query(
                "SELECT serial_number FROM mfa_devices WHERE serial_number = $1 AND account_id = $2 AND kind = 'totp'",
            )
            .bind(serial)
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
            Ok((row.map(|r| r.try_get("serial_number")).transpose()?, serial.to_owned()))
        }
    }
}

fn not_found(target: Taggable<'_>) -> IamError {
    match target {
        Taggable::User(n) => EntityKind::User.no_such(n),
        Taggable::Role(n) => EntityKind::Role.no_such(n),
        Taggable::Policy(arn) => IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable.")),
        Taggable::MfaDevice(serial) => {
            IamError::NoSuchEntity(format!("MFA Device with serial number {serial} does not exist."))
        }
    }
}

impl Iam {
    /// Authorizes the tags a `Create*` request sets: AWS asks for the tagging action too
    /// (`iam:TagUser` for `CreateUser` with tags), with the request's tags, so that whoever may
    /// create users cannot thereby choose their principal tags, which ABAC grants rest on.
    pub(crate) async fn authorize_tags_at_creation(
        &self,
        caller: &Caller,
        tag_action: &str,
        arn: &str,
        tags: &[Tag],
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<(), IamError> {
        if tags.is_empty() {
            return Ok(());
        }
        let request = Request::new(tag_action, arn, caller.account_id()).with_request_tags(tags).creating();
        self.authorize_or_record(caller, request, parameters).await
    }

    /// `iam:TagUser`, `iam:TagRole`, `iam:TagPolicy`: adds tags, replacing the value of a key
    /// already there (keys compare ignoring case); at most 50 in all.
    pub async fn tag(&self, caller: &Caller, target: Taggable<'_>, tags: &[(String, String)]) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let tags = Tag::parse_list(tags)?;
            if tags.is_empty() {
                return Err(IamError::ValidationError(
                    "1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: Member must have \
                 length greater than or equal to 1"
                        .to_owned(),
                ));
            }
            let account_id = caller.account_id().to_owned();
            let action = format!("iam:Tag{}", target.label());
            let mut tx = self.begin_write(&account_id).await?;
            let (id, arn) = resolve(&mut tx, &account_id, target).await?;
            let parameters = || crate::audit::with_parameter(target.parameter(), "Tags", tags_json(&tags));
            let request = Request::new(&action, &arn, &account_id).with_request_tags(&tags);
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            let id = id.ok_or_else(|| not_found(target))?;
            let mut current = load_tags(&mut tx, &id).await?;
            for tag in &tags {
                match current.iter_mut().find(|t| t.has_key(&tag.key)) {
                    Some(existing) => existing.value.clone_from(&tag.value),
                    None => current.push(tag.clone()),
                }
            }
            if current.len() > MAX_TAGS_PER_ENTITY {
                return Err(IamError::LimitExceeded(format!(
                    "The number of tags has reached the maximum limit of {MAX_TAGS_PER_ENTITY}."
                )));
            }
            replace_tags(&mut tx, &account_id, &id, &current).await?;
            let event = Event { action: &action, target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:UntagUser`, `iam:UntagRole`, `iam:UntagPolicy`: removes the keys given (ignoring case);
    /// keys that are not there are ignored, as AWS does.
    pub async fn untag(&self, caller: &Caller, target: Taggable<'_>, keys: &[String]) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            if keys.is_empty() || keys.len() > MAX_TAGS_PER_ENTITY {
                return Err(IamError::ValidationError(format!(
                    "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: \
                     Member must have length \
                     between 1 and {MAX_TAGS_PER_ENTITY}"
                )));
            }
            let account_id = caller.account_id().to_owned();
            let action = format!("iam:Untag{}", target.label());
            let mut tx = self.begin_write(&account_id).await?;
            let (id, arn) = resolve(&mut tx, &account_id, target).await?;
            let parameters = || crate::audit::with_parameter(target.parameter(), "TagKeys", serde_json::json!(keys));
            let request = Request::new(&action, &arn, &account_id).with_all("aws:TagKeys", keys.to_vec());
            let mut tx = self.authorize_holding(tx, caller, request, parameters).await?;
            let id = id.ok_or_else(|| not_found(target))?;
            let mut current = load_tags(&mut tx, &id).await?;
            current.retain(|t| !keys.iter().any(|k| t.has_key(k)));
            replace_tags(&mut tx, &account_id, &id, &current).await?;
            let event = Event { action: &action, target: Some(&arn), parameters: parameters(), outcome: "Success" };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            self.commit_permissions(tx, &account_id).await
        })
        .await
    }

    /// `iam:ListUserTags`, `iam:ListRoleTags`, `iam:ListPolicyTags`, in the order they were added.
    pub async fn list_tags(&self, caller: &Caller, target: Taggable<'_>) -> Result<Vec<Tag>, IamError> {
        let account_id = caller.account_id();
        let action = format!("iam:List{}Tags", target.label());
        let mut conn = self.store().pool().acquire().await?;
        let (id, arn) = resolve(&mut conn, account_id, target).await?;
        let request = Request::new(&action, &arn, account_id);
        self.authorize_or_record_using(Some(&mut conn), caller, request, || target.parameter()).await?;
        let id = id.ok_or_else(|| not_found(target))?;
        load_tags(&mut conn, &id).await
    }
}

async fn replace_tags(
    conn: &mut AnyConnection,
    account_id: &str,
    entity_id: &str,
    tags: &[Tag],
) -> Result<(), IamError> {
    sqlx::query("DELETE FROM tags WHERE entity_id = $1").bind(entity_id).execute(&mut *conn).await?;
    insert_tags(conn, account_id, entity_id, tags).await
}

/// The tags of an entity (by its unique id, or an MFA device's serial number), in order.
pub(crate) async fn load_tags(conn: &mut AnyConnection, entity_id: &str) -> Result<Vec<Tag>, IamError> {
    let rows = sqlx::query("SELECT tag_key, tag_value FROM tags WHERE entity_id = $1 ORDER BY position")
        .bind(entity_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok(Tag { key: r.try_get("tag_key")?, value: r.try_get("tag_value")? }))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(IamError::from)
}

/// Stores tags for an entity that has none yet, keeping their order.
pub(crate) async fn insert_tags(
    conn: &mut AnyConnection,
    account_id: &str,
    entity_id: &str,
    tags: &[Tag],
) -> Result<(), IamError> {
    for (position, tag) in (0_i64..).zip(tags) {
        sqlx::query(
            "INSERT INTO tags (account_id, entity_id, key_key, tag_key, tag_value, position) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account_id)
        .bind(entity_id)
        .bind(Tag::key_fold(&tag.key))
        .bind(&tag.key)
        .bind(&tag.value)
        .bind(position)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Tags as audit event parameters show them.
pub(crate) fn tags_json(tags: &[Tag]) -> serde_json::Value {
    tags.iter().map(|t| serde_json::json!({ "Key": t.key, "Value": t.value })).collect()
}
