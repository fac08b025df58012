//! Accounts and their root users: first-run creation, console sign-in, and account facts.

use sqlx::Row as _;

use crate::Iam;
use crate::audit::{self, Event};
use crate::caller::{Caller, Principal};
use crate::clock::Timestamp;
use crate::error::{IamError, is_unique_violation};
use crate::ids;
use crate::names::{AccountAlias, Email};
use crate::password::Password;
pub use crate::sign_in::{SignIn, SignInContext, SignInError, SignedIn};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub account_id: String,
    pub alias: Option<String>,
    pub root_email: String,
    pub created_at: Timestamp,
}

/// What first-run setup (or `portcullis bootstrap`) asks for, as AWS sign-up does.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub alias: String,
    pub root_email: String,
    pub root_password: Password,
}

/// What `recover_root` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRecovery {
    pub account_id: String,
    pub password_reset: bool,
    /// Serial numbers of the root user's MFA devices that were removed.
    pub removed_mfa_devices: Vec<String>,
}

impl Iam {
    /// Whether the first account exists (the setup link then no longer works).
    pub async fn is_set_up(&self) -> Result<bool, IamError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM installation").fetch_one(self.store().pool()).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Creates the first account and its root user. Succeeds once per installation: a second call
    /// answers `EntityAlreadyExists`, even when two race.
    pub async fn bootstrap(&self, new: NewAccount) -> Result<Account, IamError> {
        let alias = AccountAlias::parse(&new.alias)?;
        let email = Email::parse(&new.root_email)?;
        crate::password_policy::check_password_for(None, &new.root_password, &[email.as_str(), alias.as_str()])?;
        let hash = self.hasher().hash(&new.root_password).await?;
        let now = self.now();
        let account_id = ids::account_id(&mut rand::thread_rng());

        let mut tx = self.store().pool().begin().await?;
        let claimed =
            sqlx::query("INSERT INTO installation (id, created_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
        if claimed.rows_affected() != 1 {
            return Err(already_set_up());
        }
        let inserted = sqlx::query(
            "INSERT INTO accounts (account_id, alias, root_email, root_email_key, root_password_hash, \
             root_password_changed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&account_id)
        .bind(alias.as_str())
        .bind(email.as_str())
        .bind(email.key())
        .bind(&hash)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(already_set_up()),
            other => other?,
        };
        let caller = Caller::internal(Principal::Root { account_id: account_id.clone() });
        let event = Event {
            action: "portcullis:CreateAccount",
            target: Some(&account_id),
            parameters: serde_json::json!({ "AccountAlias": alias.as_str(), "RootEmail": email.as_str() }),
            outcome: "Success",
        };
        audit::append(&mut tx, &caller, now, &event).await?;
        tx.commit().await?;
        Ok(Account { account_id, alias: Some(alias.to_string()), root_email: email.to_string(), created_at: now })
    }

    /// The account's facts, for the console's top bar.
    pub async fn account(&self, account_id: &str) -> Result<Account, IamError> {
        let row = sqlx::query("SELECT account_id, alias, root_email, created_at FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.store().pool())
            .await?
            .ok_or_else(|| IamError::NoSuchEntity(format!("The account {account_id} cannot be found.")))?;
        Ok(Account {
            account_id: row.try_get("account_id")?,
            alias: row.try_get("alias")?,
            root_email: row.try_get("root_email")?,
            created_at: Timestamp::from_millis(row.try_get("created_at")?),
        })
    }

    /// Recovers an account's root user for someone with access to the server machine (the
    /// `portcullis recover-root` command, never a network request): sets a new root password
    /// (checked against the account's password policy) and/or removes every MFA device of the
    /// root user. Recorded in the account's audit log as `portcullis:RecoverRoot`. `account` is
    /// the 12-digit account id or the alias.
    pub async fn recover_root(
        &self,
        account: &str,
        new_password: Option<&Password>,
        remove_mfa: bool,
    ) -> Result<RootRecovery, IamError> {
        if new_password.is_none() && !remove_mfa {
            return Err(IamError::InvalidInput("Nothing to recover: give a new password, or remove MFA.".to_owned()));
        }
        let account = account.trim();
        let (column, value) = if ids::is_account_id(account) {
            ("account_id", account.to_owned())
        } else {
            ("alias", account.to_lowercase())
        };
        let sql = format!("SELECT account_id FROM accounts WHERE {column} = $1");
        let account_id: String = sqlx::query(&sql)
            .bind(&value)
            .fetch_optional(self.store().pool())
            .await?
            .map(|r| r.try_get("account_id"))
            .transpose()?
            .ok_or_else(|| IamError::NoSuchEntity(format!("The account {account} cannot be found.")))?;
        let hash = match new_password {
            Some(password) => {
                let policy = {
                    let mut conn = self.store().pool().acquire().await?;
                    crate::password_policy::load_policy(&mut conn, &account_id).await?
                };
                crate::password_policy::check_password(policy.as_ref(), password)?;
                Some(self.hasher().hash(password).await?)
            }
            None => None,
        };
        let now = self.now();
        let mut tx = self.begin_write(&account_id).await?;
        if let Some(hash) = &hash {
            sqlx::query(
                "UPDATE accounts SET root_password_hash = $2, root_password_changed_at = $3 WHERE account_id = $1",
            )
            .bind(&account_id)
            .bind(hash)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        }
        let mut removed = Vec::new();
        if remove_mfa {
            let rows =
                sqlx::query("SELECT serial_number, kind FROM mfa_devices WHERE owner_id = $1 ORDER BY serial_number")
                    .bind(&account_id)
                    .fetch_all(&mut *tx)
                    .await?;
            for row in &rows {
                let serial = row.try_get::<String, _>("serial_number")?;
                // Only virtual devices have tags (and ARN serials): another serial could be anyone's id.
                if row.try_get::<String, _>("kind")? == "totp" {
                    sqlx::query("DELETE FROM tags WHERE entity_id = $1").bind(&serial).execute(&mut *tx).await?;
                }
                removed.push(serial);
            }
            sqlx::query("DELETE FROM mfa_devices WHERE owner_id = $1").bind(&account_id).execute(&mut *tx).await?;
        }
        // Whoever holds a root session now may be who took the account: every one ends.
        crate::console_sessions::end_sessions_of(&mut tx, &account_id, None).await?;
        // And the owner signing in next is not held up by the failures that led here.
        sqlx::query("DELETE FROM sign_in_failures WHERE subject IN ($1, $2)")
            .bind(format!("principal:{account_id}"))
            .bind(format!("mfa:{account_id}"))
            .execute(&mut *tx)
            .await?;
        let caller = Caller::internal(Principal::Root { account_id: account_id.clone() });
        let event = Event {
            action: "portcullis:RecoverRoot",
            target: Some(&account_id),
            parameters: serde_json::json!({ "PasswordReset": hash.is_some(), "RemovedMFADevices": removed }),
            outcome: "Success",
        };
        audit::append(&mut tx, &caller, now, &event).await?;
        tx.commit().await?;
        Ok(RootRecovery { account_id, password_reset: hash.is_some(), removed_mfa_devices: removed })
    }

    /// The principal of a console session as it stands now: `None` when the user has since been
    /// deleted or lost its console password, which ends the session.
    pub async fn current_principal(&self, principal: &Principal) -> Result<Option<Principal>, IamError> {
        match principal {
            Principal::Root { account_id } => {
                let exists = sqlx::query("SELECT 1 AS one FROM accounts WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_optional(self.store().pool())
                    .await?;
                Ok(exists.map(|_| principal.clone()))
            }
            Principal::User { account_id, user_id, .. } => {
                let row = sqlx::query(
                    "SELECT u.user_name, u.path FROM users u JOIN login_profiles p ON p.user_id = u.user_id \
                     WHERE u.user_id = $1 AND u.account_id = $2",
                )
                .bind(user_id)
                .bind(account_id)
                .fetch_optional(self.store().pool())
                .await?;
                row.map(|r| -> Result<Principal, IamError> {
                    Ok(Principal::User {
                        account_id: account_id.clone(),
                        user_id: user_id.clone(),
                        user_name: r.try_get("user_name")?,
                        path: r.try_get("path")?,
                    })
                })
                .transpose()
            }
        }
    }
}

fn already_set_up() -> IamError {
    IamError::EntityAlreadyExists("Portcullis is already set up: the first account exists.".to_owned())
}
