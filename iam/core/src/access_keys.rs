//! Access keys: `CreateAccessKey`, `ListAccessKeys`, `UpdateAccessKey`, `DeleteAccessKey`,
//! `GetAccessKeyLastUsed`, and what request signing needs (the secret of an active key, and
//! recording its use). A secret is shown once, when created; the store keeps it sealed with the
//! server's key, because SigV4 needs the secret itself to check a signature.

use std::fmt;

use rand::Rng as _;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::{Caller, Principal};
use crate::clock::Timestamp;
use crate::entities::{self, EntityKind};
use crate::error::IamError;
use crate::ids::{self, IdKind};

/// Access keys per user (and for the root user).
pub const MAX_KEYS_PER_USER: i64 = 2;

/// A secret access key. It never prints: `Debug` shows a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretAccessKey(String);

impl SecretAccessKey {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// 40 characters of `A-Za-z0-9/+` from the operating system's random source, like AWS's.
    fn generate() -> SecretAccessKey {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";
        let mut rng = rand::rngs::OsRng;
        let secret = (0..40)
            .map(|_| char::from(ALPHABET.get(rng.gen_range(0..ALPHABET.len())).copied().unwrap_or(b'A')))
            .collect();
        SecretAccessKey(secret)
    }
}

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretAccessKey(***)")
    }
}

/// A new key, with the secret the caller sees this once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: SecretAccessKey,
    pub status: KeyStatus,
    pub create_date: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    pub fn parse(text: &str) -> Result<KeyStatus, IamError> {
        match text {
            "Active" => Ok(KeyStatus::Active),
            "Inactive" => Ok(KeyStatus::Inactive),
            other => Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must \
                 satisfy enum value set: [Active, Inactive]"
            ))),
        }
    }
}

/// A key's metadata, as `ListAccessKeys` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessKeyMetadata {
    pub user_name: String,
    pub access_key_id: String,
    pub status: KeyStatus,
    pub create_date: Timestamp,
}

/// `GetAccessKeyLastUsed`: when, where and with what service the key was last used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessKeyLastUsed {
    pub user_name: String,
    pub last_used_date: Option<Timestamp>,
    /// `N/A` when never used, as AWS says.
    pub service_name: String,
    pub region: String,
}

impl Iam {
    /// `iam:CreateAccessKey`: at most two per user. The secret is in the answer and nowhere else.
    pub async fn create_access_key(&self, caller: &Caller, user_name: Option<&str>) -> Result<NewAccessKey, IamError> {
        self.record_failures(caller, async move {
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "UserName": user_name });
            let owner = self.credential_owner(caller, user_name, "iam:CreateAccessKey", parameters).await?;
            let now = self.now();
            let mut tx = self.begin_write(&account_id).await?;
            let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM access_keys WHERE owner_id = $1")
                .bind(&owner.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if count >= MAX_KEYS_PER_USER {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
                )));
            }
            // Checked under the account's lock, for a key of one's own too: a user deleted meanwhile
            // (its session still running) must not be left an orphan key.
            if !owner.is_root && !user_exists(&mut tx, &owner.id).await? {
                return Err(EntityKind::User.no_such(&owner.name));
            }
            let access_key_id = ids::unique_id(IdKind::AccessKey, &mut rand::rngs::OsRng);
            let secret = SecretAccessKey::generate();
            let context = seal_context(&account_id, &owner.id, &access_key_id);
            let sealed = self.secret_key().seal(&context, secret.expose().as_bytes());
            sqlx::query(
                "INSERT INTO access_keys (access_key_id, account_id, owner_id, secret_sealed, active, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5)",
            )
            .bind(&access_key_id)
            .bind(&account_id)
            .bind(&owner.id)
            .bind(&sealed)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            let event = Event {
                action: "iam:CreateAccessKey",
                target: Some(&owner.arn),
                parameters: serde_json::json!({ "UserName": user_name, "AccessKeyId": access_key_id }),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, now, &event).await?;
            tx.commit().await?;
            Ok(NewAccessKey {
                user_name: owner.name,
                access_key_id,
                secret_access_key: secret,
                status: KeyStatus::Active,
                create_date: now,
            })
        })
        .await
    }

    /// `iam:ListAccessKeys`, oldest first.
    pub async fn list_access_keys(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKeyMetadata>, IamError> {
        let parameters = || serde_json::json!({ "UserName": user_name });
        let owner = self.credential_owner(caller, user_name, "iam:ListAccessKeys", parameters).await?;
        let rows = sqlx::query(
            "SELECT access_key_id, active, created_at FROM access_keys WHERE owner_id = $1 \
             ORDER BY created_at, access_key_id",
        )
        .bind(&owner.id)
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows.iter().map(|r| metadata(&owner.name, r)).collect::<Result<_, sqlx::Error>>()?)
    }

    /// `iam:UpdateAccessKey`: makes a key active or inactive. An inactive key signs nothing.
    pub async fn update_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let account_id = caller.account_id().to_owned();
            let parameters = || {
                serde_json::json!({ "UserName": user_name, "AccessKeyId": access_key_id,
                                       "Status": status.as_str() })
            };
            let owner = self.credential_owner(caller, user_name, "iam:UpdateAccessKey", parameters).await?;
            let mut tx = self.begin_write(&account_id).await?;
            let updated = sqlx::query("UPDATE access_keys SET active = $3 WHERE access_key_id = $1 AND owner_id = $2")
                .bind(access_key_id)
                .bind(&owner.id)
                .bind(i64::from(status == KeyStatus::Active))
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(no_such_key(access_key_id));
            }
            let event = Event {
                action: "iam:UpdateAccessKey",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:DeleteAccessKey`.
    pub async fn delete_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<(), IamError> {
        self.record_failures(caller, async move {
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "UserName": user_name, "AccessKeyId": access_key_id });
            let owner = self.credential_owner(caller, user_name, "iam:DeleteAccessKey", parameters).await?;
            let mut tx = self.begin_write(&account_id).await?;
            let deleted = sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1 AND owner_id = $2")
                .bind(access_key_id)
                .bind(&owner.id)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(no_such_key(access_key_id));
            }
            let event = Event {
                action: "iam:DeleteAccessKey",
                target: Some(&owner.arn),
                parameters: parameters(),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// `iam:GetAccessKeyLastUsed`: authorized against the key's owner, found from the key id.
    pub async fn get_access_key_last_used(
        &self,
        caller: &Caller,
        access_key_id: &str,
    ) -> Result<AccessKeyLastUsed, IamError> {
        let account_id = caller.account_id();
        let mut conn = self.store().pool().acquire().await?;
        let row = sqlx::query(
            "SELECT k.owner_id, k.last_used_at, k.last_used_region, k.last_used_service, u.user_name, u.path \
             FROM access_keys k LEFT JOIN users u ON u.user_id = k.owner_id \
             WHERE k.access_key_id = $1 AND k.account_id = $2",
        )
        .bind(access_key_id)
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (name, arn) = match &row {
            Some(r) => match (r.try_get::<Option<String>, _>("user_name")?, r.try_get::<Option<String>, _>("path")?) {
                (Some(name), Some(path)) => {
                    let arn = entities::entity_arn(account_id, EntityKind::User, &path, &name);
                    (name, arn)
                }
                _ => (entities::ROOT_ACCOUNT_NAME.to_owned(), iam_policy::Arn::iam(account_id, "root").to_string()),
            },
            None => (String::new(), iam_policy::Arn::iam(account_id, "user/*").to_string()),
        };
        self.authorize_or_record(
            caller,
            Request::new("iam:GetAccessKeyLastUsed", &arn, account_id),
            || serde_json::json!({ "AccessKeyId": access_key_id }),
        )
        .await?;
        let row = row.ok_or_else(|| no_such_key(access_key_id))?;
        let used: Option<i64> = row.try_get("last_used_at")?;
        let na = || "N/A".to_owned();
        Ok(AccessKeyLastUsed {
            user_name: name,
            last_used_date: used.map(Timestamp::from_millis),
            service_name: row.try_get::<Option<String>, _>("last_used_service")?.unwrap_or_else(na),
            region: row.try_get::<Option<String>, _>("last_used_region")?.unwrap_or_else(na),
        })
    }

    /// For request signing: the secret and principal of an active access key, or `None` for an
    /// unknown or inactive key (the caller answers both the same way).
    pub async fn access_key_secret(
        &self,
        access_key_id: &str,
    ) -> Result<Option<(Principal, SecretAccessKey)>, IamError> {
        let row = sqlx::query(
            "SELECT k.account_id, k.owner_id, k.secret_sealed, u.user_name, u.path \
             FROM access_keys k LEFT JOIN users u ON u.user_id = k.owner_id \
             WHERE k.access_key_id = $1 AND k.active = 1",
        )
        .bind(access_key_id)
        .fetch_optional(self.store().pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let account_id: String = row.try_get("account_id")?;
        let owner_id: String = row.try_get("owner_id")?;
        let principal =
            match (row.try_get::<Option<String>, _>("user_name")?, row.try_get::<Option<String>, _>("path")?) {
                (Some(user_name), Some(path)) => Principal::User { account_id, user_id: owner_id, user_name, path },
                _ if owner_id == account_id => Principal::Root { account_id },
                // The user is gone (keys go first, so this is a race with DeleteUser): no key.
                _ => return Ok(None),
            };
        let sealed: String = row.try_get("secret_sealed")?;
        let context = seal_context(principal.account_id(), principal.user_id(), access_key_id);
        let secret = self.secret_key().open(&context, &sealed).map_err(|_| {
            IamError::internal(&format!("access key {access_key_id} does not open with this server's key"))
        })?;
        let secret = String::from_utf8(secret).map_err(|_| IamError::internal(&"a sealed secret is not text"))?;
        Ok(Some((principal, SecretAccessKey(secret))))
    }

    /// Records that a key signed a request: AWS's last-used date, Region and service. Like AWS, only
    /// the first use in each 15-minute span is written, which keeps busy keys from writing on
    /// every request.
    pub async fn record_access_key_use(
        &self,
        access_key_id: &str,
        region: &str,
        service: &str,
    ) -> Result<(), IamError> {
        sqlx::query(
            "UPDATE access_keys SET last_used_at = $2, last_used_region = $3, last_used_service = $4 \
             WHERE access_key_id = $1 AND (last_used_at IS NULL OR last_used_at <= $2 - 900000)",
        )
        .bind(access_key_id)
        .bind(self.now().as_millis())
        .bind(region)
        .bind(service)
        .execute(self.store().pool())
        .await?;
        Ok(())
    }
}

/// What a sealed secret is bound to: its purpose, account, owner and key. A sealed value moved to
/// another row, or a row given to another owner (root, say) by someone who can write the database,
/// no longer opens.
pub(crate) fn seal_context(account_id: &str, owner_id: &str, access_key_id: &str) -> String {
    format!("access-key:v2:{account_id}:{owner_id}:{access_key_id}")
}

/// The context secrets were sealed with before they were bound to their owner (re-sealed once).
pub(crate) fn legacy_seal_context(access_key_id: &str) -> String {
    format!("access-key:{access_key_id}")
}

fn metadata(user_name: &str, row: &AnyRow) -> Result<AccessKeyMetadata, sqlx::Error> {
    Ok(AccessKeyMetadata {
        user_name: user_name.to_owned(),
        access_key_id: row.try_get("access_key_id")?,
        status: if row.try_get::<i64, _>("active")? == 1 { KeyStatus::Active } else { KeyStatus::Inactive },
        create_date: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

pub(crate) async fn user_exists(conn: &mut AnyConnection, user_id: &str) -> Result<bool, IamError> {
    Ok(sqlx::query("SELECT 1 AS one FROM users WHERE user_id = $1").bind(user_id).fetch_optional(conn).await?.is_some())
}

fn no_such_key(access_key_id: &str) -> IamError {
    IamError::NoSuchEntity(format!("The Access Key with id {access_key_id} cannot be found."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_look_like_aws_and_never_print() {
        let s = SecretAccessKey::generate();
        assert_eq!(s.expose().len(), 40);
        assert!(s.expose().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+'));
        assert_ne!(s, SecretAccessKey::generate());
        assert_eq!(format!("{s:?}"), "SecretAccessKey(***)");
        assert_eq!(KeyStatus::parse("Inactive").unwrap(), KeyStatus::Inactive);
        assert_eq!(KeyStatus::parse("active").unwrap_err().code(), "ValidationError");
    }
}
