//! Which secret key seals this database's secrets, in its one `sealing_key` row: a check value, so
//! that a server started with a lost, replaced or mistyped key file refuses to start instead of
//! making every secret unreadable (and on several nodes, each its own). It is written once every
//! sealed secret is bound to its account, owner and purpose.

use sqlx::{AnyConnection, Row as _};

use crate::error::IamError;
use crate::secrets::SecretKey;
use crate::{Iam, Store};

/// Why the secret key cannot be used with this database.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(
        "the secret key file does not match this database: its secrets were sealed with another key. \
         Restore the key file this database was set up with (from your backups), or point \
         --secret-key-file at it; a new key cannot read the existing secrets"
    )]
    WrongKey,
    #[error("sealed secrets in the database do not open with this key ({0}); restore the key file it was set up with")]
    LegacySecret(String),
    #[error(transparent)]
    Store(#[from] IamError),
}

impl From<sqlx::Error> for KeyCheckError {
    fn from(e: sqlx::Error) -> Self {
        KeyCheckError::Store(e.into())
    }
}

/// The check value of the key this database's secrets are sealed with, if one is on record. A
/// server whose key file is missing must not create a new key when there is one: it would seal new
/// secrets with it and read none of the old.
pub async fn recorded_key_check(store: &Store) -> Result<Option<String>, IamError> {
    let row = sqlx::query("SELECT secret_key_check FROM sealing_key WHERE singleton = 1")
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| r.try_get("secret_key_check")).transpose()?)
}

impl Iam {
    /// Makes sure this server's key is the database's: the first server to start records its key's
    /// check value (after re-sealing any secret sealed before secrets were bound to their owners,
    /// which also proves the key opens them); every later one must match it. Two first servers
    /// racing with different keys: one records, the other is refused.
    pub async fn establish_secret_key(&self) -> Result<(), KeyCheckError> {
        let key = self.secret_key();
        let matches = |check: String| if key.matches_check(&check) { Ok(()) } else { Err(KeyCheckError::WrongKey) };
        if let Some(check) = recorded_key_check(self.store()).await? {
            return matches(check);
        }
        let mut tx = self.store().pool().begin().await?;
        // Several PostgreSQL nodes may make their first start together: one at a time, and the
        // later ones find the check the first recorded. (SQLite serves one process.)
        if self.store().backend() == crate::Backend::Postgres {
            // READ COMMITTED whatever the server's default, so the re-check below sees a row
            // committed while this transaction waited for the lock.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(&mut *tx).await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7355608001)").execute(&mut *tx).await?;
        }
        let recorded = sqlx::query("SELECT secret_key_check FROM sealing_key WHERE singleton = 1")
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("secret_key_check"))
            .transpose()?;
        if let Some(check) = recorded {
            return matches(check);
        }
        rebind_legacy_secrets(&mut tx, key).await?;
        sqlx::query("INSERT INTO sealing_key (singleton, secret_key_check) VALUES (1, $1)")
            .bind(key.check_value())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether the database holds any sealed secret (an access key, a TOTP seed): a database that
/// does must never be given a new key, check value or not.
pub async fn has_sealed_secrets(store: &Store) -> Result<bool, IamError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM access_keys) + (SELECT COUNT(*) FROM mfa_devices WHERE seed_sealed IS NOT NULL) AS n",
    )
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Re-seals, under the contexts that bind each secret to its account and owner, every secret
/// sealed before they were bound (access key secrets and TOTP seeds of databases made before this
/// change); secrets already bound are left as they are. Runs before the key check is first
/// recorded, and never after: the old contexts are then never tried again, so an old sealed value
/// moved to another owner cannot open. Every secret must open one way or the other with this key,
/// which also proves the key is the database's.
async fn rebind_legacy_secrets(conn: &mut AnyConnection, key: &SecretKey) -> Result<(), KeyCheckError> {
    let keys = sqlx::query("SELECT access_key_id, account_id, owner_id, secret_sealed FROM access_keys")
        .fetch_all(&mut *conn)
        .await?;
    for row in &keys {
        let id: String = row.try_get("access_key_id")?;
        let sealed: String = row.try_get("secret_sealed")?;
        let context = crate::access_keys::seal_context(
            &row.try_get::<String, _>("account_id")?,
            &row.try_get::<String, _>("owner_id")?,
            &id,
        );
        if key.open(&context, &sealed).is_ok() {
            continue;
        }
        let secret = key
            .open(&crate::access_keys::legacy_seal_context(&id), &sealed)
            .map_err(|_| KeyCheckError::LegacySecret(format!("access key {id}")))?;
        sqlx::query("UPDATE access_keys SET secret_sealed = $2 WHERE access_key_id = $1")
            .bind(&id)
            .bind(key.seal(&context, &secret))
            .execute(&mut *conn)
            .await?;
    }
    let seeds = sqlx::query(
        "SELECT serial_number, account_id, owner_id, seed_sealed FROM mfa_devices WHERE seed_sealed IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &seeds {
        let serial: String = row.try_get("serial_number")?;
        let sealed: String = row.try_get("seed_sealed")?;
        let owner: Option<String> = row.try_get("owner_id")?;
        let context = crate::mfa::seal_context(&row.try_get::<String, _>("account_id")?, owner.as_deref(), &serial);
        if key.open(&context, &sealed).is_ok() {
            continue;
        }
        let seed = key
            .open(&crate::mfa::legacy_seal_context(&serial), &sealed)
            .map_err(|_| KeyCheckError::LegacySecret(format!("MFA device {serial}")))?;
        sqlx::query("UPDATE mfa_devices SET seed_sealed = $2 WHERE serial_number = $1 AND account_id = $3")
            .bind(&serial)
            .bind(key.seal(&context, &seed))
            .bind(row.try_get::<String, _>("account_id")?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
