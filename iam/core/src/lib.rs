//! Portcullis's IAM domain: accounts, users and their credentials, the store they live in, and one
//! function per IAM action. Every action takes a [`Caller`], authorizes it through
//! [`Iam::authorize`] (the single enforcement point), then acts in one transaction that also
//! appends the audit event. The console and the AWS-compatible API are thin clients of [`Iam`].

pub mod access_keys;
pub mod account_settings;
pub mod accounts;
pub mod advisor;
pub mod audit;
pub mod authorization_details;
pub mod authz;
pub mod aws_managed;
pub mod caller;
mod cascade;
pub mod clock;
pub mod console_sessions;
pub mod credential_report;
pub mod entities;
pub mod error;
pub mod groups;
pub mod ids;
pub mod mfa;
pub mod names;
pub mod password;
pub mod password_policy;
pub mod policies;
pub mod roles;
pub mod sealing;
pub mod secrets;
pub mod service_reference;
pub mod services;
pub mod sign_in;
pub mod simulator;
pub mod store;
pub mod tagging;
pub mod users;

use std::sync::Arc;

pub use caller::{Caller, Channel, Principal};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::IamError;
pub use password::Password;
pub use secrets::SecretKey;
pub use store::{Backend, Store, StoreError};

use crate::password::PasswordHasher;

/// The IAM service: the store, the clock, the password hasher and the secret key, shared by every
/// request. Cheap to clone.
#[derive(Clone)]
pub struct Iam {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    secret_key: SecretKey,
    pub(crate) policy_cache: Arc<authz::PolicyCache>,
    access_notes: advisor::AccessNotes,
    read_events: audit::ReadEvents,
}

impl Iam {
    /// `hash_concurrency` bounds simultaneous Argon2 computations (each holds 19 MiB). On
    /// PostgreSQL this also starts listening for other processes' policy invalidations, so it must
    /// be called inside a Tokio runtime; until the listener is connected the policy cache stays off.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        secret_key: SecretKey,
        hash_concurrency: usize,
    ) -> Result<Iam, IamError> {
        let hasher = PasswordHasher::new(hash_concurrency)?;
        let shared = store.backend() == Backend::Postgres;
        let policy_cache = Arc::new(authz::PolicyCache::new(shared));
        let url = store.url().to_owned();
        let access_notes = advisor::AccessNotes::default();
        let read_events = audit::ReadEvents::default();
        let inner = Arc::new(Inner { store, clock, hasher, secret_key, policy_cache, access_notes, read_events });
        let runtime = tokio::runtime::Handle::try_current();
        if shared {
            let runtime =
                runtime.as_ref().map_err(|e| IamError::internal(&format!("PostgreSQL needs a Tokio runtime: {e}")))?;
            runtime.spawn(authz::listen_for_invalidations(Arc::downgrade(&inner), url));
        }
        // Without a runtime (a command-line tool), batched records are written when asked for.
        if let Ok(runtime) = runtime {
            runtime.spawn(flush_periodically(Arc::downgrade(&inner)));
        }
        Ok(Iam { inner })
    }

    pub(crate) fn access_notes(&self) -> &advisor::AccessNotes {
        &self.inner.access_notes
    }

    pub(crate) fn read_events(&self) -> &audit::ReadEvents {
        &self.inner.read_events
    }

    /// Writes what is batched in memory: read events and Access Advisor notes. Runs about every
    /// second on its own; call it before shutting down.
    pub async fn flush(&self) -> Result<(), IamError> {
        self.read_events().flush(self.store().pool()).await?;
        self.flush_access_notes().await
    }

    /// How many allowed reads wait in memory for the audit log (written about every second).
    pub fn pending_audit_events(&self) -> usize {
        self.read_events().len()
    }

    /// The compiled policies of principals, shared by every request of this process.
    pub fn policy_cache(&self) -> &authz::PolicyCache {
        &self.inner.policy_cache
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    pub fn secret_key(&self) -> &SecretKey {
        &self.inner.secret_key
    }

    /// Starts a transaction that mutates `account_id`, taking the account's write lock first.
    ///
    /// The lock is an `UPDATE` of the account's row: on PostgreSQL a row lock, on SQLite the
    /// database's write lock. Writers to one account therefore run one at a time, and the checks an
    /// action makes inside its transaction (quotas, uniqueness, dependents) hold until it commits.
    pub(crate) async fn begin_write(
        &self,
        account_id: &str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, IamError> {
        let mut tx = self.store().pool().begin().await?;
        let locked = sqlx::query("UPDATE accounts SET revision = revision + 1 WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() != 1 {
            return Err(IamError::internal(&format!("account {account_id} is not in the store")));
        }
        Ok(tx)
    }

    /// Records an action that was refused before it touched anything (authorization denied), in a
    /// transaction of its own, and hands back the error to return.
    /// `conn`, when given, is a connection the caller holds (not a transaction): the event is
    /// written through it rather than through a second connection from the pool.
    pub(crate) async fn refused(
        &self,
        conn: Option<&mut sqlx::AnyConnection>,
        caller: &Caller,
        event: audit::Event<'_>,
        error: IamError,
    ) -> IamError {
        let at = self.now();
        let write = async {
            match conn {
                Some(conn) => audit::append(conn, caller, at, &event).await,
                None => {
                    let mut conn = self.store().pool().acquire().await?;
                    audit::append(&mut conn, caller, at, &event).await
                }
            }
        };
        if let Err(e) = write.await {
            tracing::error!(error = %e, action = event.action, "could not record a refused action");
        }
        error
    }

    /// The audit events of the caller's account, newest first: `cloudtrail:LookupEvents`.
    pub async fn audit_events(
        &self,
        caller: &Caller,
        principal_arn: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<audit::AuditRecord>, IamError> {
        let account = caller.account_id();
        self.authorize_or_record(
            caller,
            authz::Request::new("cloudtrail:LookupEvents", "*", account),
            || serde_json::json!({ "PrincipalArn": principal_arn }),
        )
        .await?;
        self.read_events().flush(self.store().pool()).await?;
        let mut conn = self.store().pool().acquire().await?;
        audit::list(&mut conn, account, principal_arn, before, limit.clamp(1, 1000)).await
    }
}

/// Writes batched read events about every second and Access Advisor notes every
/// [`advisor::FLUSH_INTERVAL`], until the `Iam` is dropped.
async fn flush_periodically(iam: std::sync::Weak<Inner>) {
    let ticks_per_notes = advisor::FLUSH_INTERVAL.as_secs().max(1);
    let mut tick = 0u64;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let Some(inner) = iam.upgrade() else { return };
        let iam = Iam { inner };
        if let Err(e) = iam.read_events().flush(iam.store().pool()).await {
            tracing::warn!(error = %e, "could not write read events to the audit log");
        }
        tick += 1;
        if tick.is_multiple_of(ticks_per_notes)
            && let Err(e) = iam.flush_access_notes().await
        {
            tracing::warn!(error = %e, "could not write Access Advisor notes");
        }
    }
}
