//! Console sign-in: the password step, the MFA step, growing delays after failures, and the audit
//! record of every attempt.
//!
//! - Every wrong credential is the same `Incorrect`, after one Argon2 verification whether or not
//!   the account and user exist (no user enumeration, similar timing).
//! - Failures are counted per sign-in subject (a principal, or what was typed when no principal
//!   matches) in the database, so every server node sees them. After [`FREE_FAILURES`] failures
//!   each attempt must wait a growing delay, capped at [`MAX_DELAY_SECONDS`]: never a lock-out,
//!   which an attacker could use to keep a user out. Failures are forgotten after a day without
//!   one, and on a complete sign-in. Spraying many users from one client is the server's per-client
//!   limit's business. Delays are not counted per account: one attacker could then slow every user
//!   of an account down.
//! - Every attempt of an existing account is in its audit log as `signin:ConsoleLogin`, with its
//!   outcome; an unknown user's name is not recorded (people type passwords into the name field),
//!   as CloudTrail hides it.

use std::net::IpAddr;

use sha2::Digest as _;
use sqlx::Row as _;

use crate::Iam;
use crate::audit::{self, Event};
use crate::caller::{Caller, Channel, Principal};
use crate::clock::Timestamp;
use crate::error::IamError;
use crate::ids;
use crate::password::{Password, Verified};
use crate::password_policy::{self, PasswordPolicy};

/// Failures allowed before delays begin.
pub const FREE_FAILURES: i64 = 4;
/// The longest delay between attempts, however many failures.
pub const MAX_DELAY_SECONDS: i64 = 30;
/// Failed MFA steps allowed in a day (each with the growing delays): then the MFA step waits out
/// the day. Only someone who knows the password reaches that step.
pub const MAX_MFA_FAILURES: i64 = 100;
/// How long a device cookie vouches for a browser (OWASP's "device cookies").
pub const DEVICE_COOKIE_MAX_AGE_MS: i64 = 180 * DAY_MS;
/// Failures are forgotten this long after the last one.
pub const FAILURE_MEMORY_MS: i64 = 24 * 60 * 60 * 1000;
/// How long ahead of a password's expiry the console warns (AWS's 15 days).
pub const EXPIRY_WARNING_MS: i64 = 15 * DAY_MS;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The user name recorded for a sign-in attempt whose user does not exist, as CloudTrail does.
pub const HIDDEN_USER: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// A console sign-in attempt.
#[derive(Debug, Clone)]
pub enum SignIn {
    Root {
        email: String,
        password: Password,
    },
    /// `account` is the 12-digit account id or the account alias.
    User {
        account: String,
        user_name: String,
        password: Password,
    },
}

/// What is known of the client trying to sign in, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct SignInContext {
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub secure_transport: bool,
    /// The device cookie the browser sent, if any (see [`Iam::device_cookie`]).
    pub device: Option<String>,
}

impl SignInContext {
    /// The caller an attempt's audit event is recorded as.
    fn caller(&self, principal: Principal) -> Caller {
        Caller {
            principal,
            channel: Channel::Console { session_ref: "sign-in".to_owned() },
            source_ip: self.source_ip,
            secure_transport: self.secure_transport,
            mfa_authenticated_at: None,
            session_issued_at: None,
            request_id: self.request_id.clone(),
            client_request_id: self.client_request_id.clone(),
            user_agent: self.user_agent.clone(),
        }
    }
}

/// An MFA device the second step can use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MfaChoice {
    pub serial_number: String,
    /// `totp` or `webauthn`.
    pub kind: String,
}

/// A correct password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub principal: Principal,
    /// An administrator asked for a new password at next sign-in.
    pub password_reset_required: bool,
    /// The password is older than the policy's `MaxPasswordAge` (without `HardExpiry`): the user
    /// must choose a new one before using the console.
    pub password_expired: bool,
    /// When the password expires, if the policy makes passwords expire.
    pub password_expires_at: Option<Timestamp>,
    /// The principal's enabled MFA devices: when any, the sign-in is complete only after one of
    /// them answers ([`Iam::sign_in_with_totp`], or the server's WebAuthn ceremony and
    /// [`Iam::complete_sign_in`]).
    pub mfa_devices: Vec<MfaChoice>,
}

impl SignedIn {
    /// Whether the user must set a new password before anything else.
    pub fn must_change_password(&self) -> bool {
        self.password_reset_required || self.password_expired
    }
}

/// Why a sign-in step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Every wrong credential, whatever was wrong.
    #[error("Your authentication information is incorrect. Please try again.")]
    Incorrect,
    /// Too many recent failures: the next attempt may come in `retry_after_seconds`.
    #[error("Too many failed attempts. Try again in {retry_after_seconds} second(s).")]
    Throttled { retry_after_seconds: i64 },
    /// The password expired under a policy with `HardExpiry`: only an administrator can set a new
    /// one. Answered only to someone who gave the right password.
    #[error("Your password has expired. Ask an administrator of the account to set a new one.")]
    PasswordExpired,
    #[error("{0}")]
    Failed(IamError),
}

impl From<IamError> for SignInError {
    fn from(e: IamError) -> Self {
        SignInError::Failed(e)
    }
}

impl From<sqlx::Error> for SignInError {
    fn from(e: sqlx::Error) -> Self {
        SignInError::Failed(e.into())
    }
}

/// The delay owed before the next attempt after `failures` failures.
pub fn delay_after(failures: i64) -> i64 {
    if failures <= FREE_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(failures - FREE_FAILURES - 1).unwrap_or(u32::MAX).min(8);
    (1_i64 << doublings).min(MAX_DELAY_SECONDS)
}

/// A principal that may exist: what the password step found for what was typed.
struct Candidate {
    principal: Principal,
    hash: String,
    reset_required: bool,
    /// When the user's password was set (none for the root user: AWS's policy does not expire it).
    password_changed_at: Option<i64>,
}

/// The failure subject of a principal.
fn principal_subject(principal: &Principal) -> String {
    format!("principal:{}", principal.user_id())
}

/// What a device cookie is sealed for: its purpose and its principal.
fn device_context(principal: &Principal) -> String {
    format!("device-cookie:v1:{}", principal.user_id())
}

/// The failure subject of a principal's MFA step.
fn mfa_subject(principal: &Principal) -> String {
    format!("mfa:{}", principal.user_id())
}

/// [`delay_after`] as SQL over the failure count `column`, for the atomic check.
fn delay_sql(column: &str) -> String {
    let mut sql = format!("CASE WHEN {column} <= {FREE_FAILURES} THEN 0");
    let mut failures = FREE_FAILURES + 1;
    while delay_after(failures) < MAX_DELAY_SECONDS {
        sql.push_str(&format!(" WHEN {column} = {failures} THEN {}", delay_after(failures)));
        failures += 1;
    }
    sql.push_str(&format!(" ELSE {MAX_DELAY_SECONDS} END"));
    sql
}

/// The failure subject of what was typed when nothing matched: a digest, never the text.
fn typed_subject(parts: &[&str]) -> String {
    let mut digest = sha2::Sha256::new();
    for part in parts {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    let hex: String = digest.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("typed:{hex}")
}

impl Iam {
    /// The password step of a console sign-in. An unknown account, an unknown user, a user without
    /// a console password and a wrong password all run one Argon2 verification and answer
    /// `Incorrect`. A right password answers what must follow: an MFA step, a new password.
    pub async fn sign_in(&self, attempt: &SignIn, context: &SignInContext) -> Result<SignedIn, SignInError> {
        let (candidate, account_id, subject, password) = self.find_candidate(attempt).await?;
        // A browser this principal signed in from before counts its failures on its own: failures
        // made elsewhere (anyone can make them with a user name) never hold it up.
        let subject = match (&candidate, &context.device) {
            (Some(c), Some(cookie)) => self.device_subject(&c.principal, cookie).unwrap_or(subject),
            _ => subject,
        };
        let now = self.now();
        // The attempt is counted before the password is checked, atomically: a burst of parallel
        // attempts cannot all pass the delay before the first failure is written.
        self.reserve_attempt(&subject, None).await.inspect_err(|e| {
            if let (SignInError::Throttled { .. }, Some(account_id)) = (e, &account_id) {
                let principal = candidate.as_ref().map(|c| c.principal.clone());
                self.spawn_failure_event(context, account_id, principal, "Throttled");
            }
        })?;
        let stored_hash = candidate.as_ref().map(|c| c.hash.as_str());
        let verified = self.hasher().verify(password, stored_hash).await?;
        let known = candidate.as_ref().map(|c| c.principal.clone());
        let (Verified::Yes { rehash }, Some(candidate)) = (verified, candidate) else {
            if let Some(account_id) = &account_id {
                let caller = context.caller(known.unwrap_or_else(|| hidden_principal(account_id)));
                self.record_attempt(&caller, "Failure", "IncorrectPassword", None).await?;
            }
            return Err(SignInError::Incorrect);
        };
        self.refund_attempt(&subject).await?;
        self.record_password_use(&candidate.principal, rehash.map(|new| (candidate.hash.clone(), new))).await?;

        let policy = match &candidate.principal {
            Principal::User { account_id, .. } => {
                let mut conn = self.store().pool().acquire().await?;
                password_policy::load_policy(&mut conn, account_id).await?
            }
            Principal::Root { .. } => None,
        };
        let expires_at = password_expiry(policy.as_ref(), candidate.password_changed_at);
        let expired = expires_at.is_some_and(|at| now >= at);
        if expired && policy.as_ref().is_some_and(|p| p.hard_expiry) {
            let caller = context.caller(candidate.principal.clone());
            self.record_attempt(&caller, "Failure", "PasswordExpired", None).await?;
            return Err(SignInError::PasswordExpired);
        }
        let mfa_devices = self.mfa_choices(candidate.principal.user_id()).await?;
        let signed_in = SignedIn {
            principal: candidate.principal,
            password_reset_required: candidate.reset_required,
            password_expired: expired,
            password_expires_at: expires_at,
            mfa_devices,
        };
        if signed_in.mfa_devices.is_empty() {
            self.complete_sign_in(&signed_in.principal, context, None).await?;
        }
        Ok(signed_in)
    }

    /// The MFA step with a TOTP code: the code of one of the principal's virtual devices, of the
    /// current 30-second step or one either side, never one accepted before (on any server).
    /// Answers the device's serial number and completes the sign-in.
    pub async fn sign_in_with_totp(
        &self,
        principal: &Principal,
        code: &str,
        context: &SignInContext,
    ) -> Result<String, SignInError> {
        self.check_mfa_attempt(principal).await?;
        match self.verify_totp(principal.user_id(), code.trim()).await? {
            Some(serial) => {
                self.complete_sign_in(principal, context, Some(&serial)).await?;
                Ok(serial)
            }
            None => {
                self.fail_mfa(principal, context, "IncorrectMFACode").await?;
                Err(SignInError::Incorrect)
            }
        }
    }

    /// Takes one MFA attempt for `principal`, counted before the code or key is checked: the
    /// password step's growing delays, on a count of its own (so that failed passwords, which
    /// anyone can make, never hold up the MFA step of someone who knows the password), and at most
    /// [`MAX_MFA_FAILURES`] a day: a guessed code is a matter of attempts.
    pub async fn check_mfa_attempt(&self, principal: &Principal) -> Result<(), SignInError> {
        self.reserve_attempt(&mfa_subject(principal), Some(MAX_MFA_FAILURES)).await
    }

    /// Records a failed MFA step in the audit log (`reason`, e.g. `IncorrectMFACode`,
    /// `ClonedSecurityKey`); the attempt was counted by [`Iam::check_mfa_attempt`].
    pub async fn fail_mfa(&self, principal: &Principal, context: &SignInContext, reason: &str) -> Result<(), IamError> {
        self.record_attempt(&context.caller(principal.clone()), "Failure", reason, None).await
    }

    /// Records a complete sign-in (password, and the MFA device's serial number when one was
    /// used) and forgets the failures of this browser (its device's, or the principal's).
    pub async fn complete_sign_in(
        &self,
        principal: &Principal,
        context: &SignInContext,
        mfa_device: Option<&str>,
    ) -> Result<(), IamError> {
        // The failures this browser's attempts were counted under: its device's, or (without a
        // device cookie) the principal's, which strangers' failures share.
        let subject = context
            .device
            .as_deref()
            .and_then(|cookie| self.device_subject(principal, cookie))
            .unwrap_or_else(|| principal_subject(principal));
        sqlx::query("DELETE FROM sign_in_failures WHERE subject IN ($1, $2)")
            .bind(subject)
            .bind(mfa_subject(principal))
            .execute(self.store().pool())
            .await?;
        self.record_attempt(&context.caller(principal.clone()), "Success", "", mfa_device).await
    }

    /// Asks a signed-in principal for its own password again before a sensitive change (adding
    /// or removing an MFA device). Wrong answers count towards the principal's sign-in delays and
    /// are audited, so that a stolen session is no password oracle.
    pub async fn confirm_password(&self, caller: &Caller, password: &Password) -> Result<(), IamError> {
        let subject = principal_subject(&caller.principal);
        match self.reserve_attempt(&subject, None).await {
            Ok(()) => {}
            Err(SignInError::Throttled { retry_after_seconds }) => {
                return Err(IamError::Throttling(format!(
                    "Too many failed attempts. Try again in {retry_after_seconds} second{}.",
                    if retry_after_seconds == 1 { "" } else { "s" }
                )));
            }
            Err(SignInError::Failed(e)) => return Err(e),
            Err(other) => return Err(IamError::internal(&other)),
        }
        let stored: Option<String> = match &caller.principal {
            Principal::Root { account_id } => {
                sqlx::query_scalar("SELECT root_password_hash FROM accounts WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_optional(self.store().pool())
                    .await?
            }
            Principal::User { user_id, .. } => {
                sqlx::query_scalar("SELECT password_hash FROM login_profiles WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(self.store().pool())
                    .await?
            }
        };
        if self.hasher().verify(password, stored.as_deref()).await? == Verified::No {
            let event = Event {
                action: "portcullis:ConfirmPassword",
                target: None,
                parameters: serde_json::json!({}),
                outcome: "IncorrectPassword",
            };
            let mut conn = self.store().pool().acquire().await?;
            audit::append(&mut conn, caller, self.now(), &event).await?;
            return Err(IamError::InvalidInput("The current password is incorrect.".to_owned()));
        }
        self.refund_attempt(&subject).await?;
        Ok(())
    }

    /// A device cookie for a browser that just completed a sign-in as `principal`: sealed with
    /// the server's key and bound to the principal, so that it vouches for no one else. Its
    /// failures are counted apart from failures made elsewhere (OWASP's device cookies against
    /// lock-outs by strangers). It grants nothing else.
    pub fn device_cookie(&self, principal: &Principal) -> String {
        use rand::RngCore as _;
        let mut id = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let payload = format!("{}:{id}", self.now().as_millis());
        self.secret_key().seal(&device_context(principal), payload.as_bytes())
    }

    /// The failure subject of a valid, fresh device cookie of `principal`.
    fn device_subject(&self, principal: &Principal, cookie: &str) -> Option<String> {
        let payload = self.secret_key().open(&device_context(principal), cookie).ok()?;
        let payload = String::from_utf8(payload).ok()?;
        let (issued, id) = payload.split_once(':')?;
        let issued: i64 = issued.parse().ok()?;
        let age = self.now().as_millis() - issued;
        ((0..=DEVICE_COOKIE_MAX_AGE_MS).contains(&age) && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| format!("{}:device:{id}", principal_subject(principal)))
    }

    /// When the principal's console password was last set; `None` when it has none (any more).
    pub async fn password_changed_at(&self, principal: &Principal) -> Result<Option<Timestamp>, IamError> {
        let changed: Option<i64> = match principal {
            Principal::Root { account_id } => {
                sqlx::query_scalar("SELECT root_password_changed_at FROM accounts WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_optional(self.store().pool())
                    .await?
            }
            Principal::User { user_id, .. } => {
                sqlx::query_scalar("SELECT password_changed_at FROM login_profiles WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(self.store().pool())
                    .await?
            }
        };
        Ok(changed.map(Timestamp::from_millis))
    }

    /// When the principal's console password expires under the account's policy, if it does.
    pub async fn password_expires_at(&self, principal: &Principal) -> Result<Option<Timestamp>, IamError> {
        let Principal::User { account_id, user_id, .. } = principal else { return Ok(None) };
        let mut conn = self.store().pool().acquire().await?;
        let policy = password_policy::load_policy(&mut conn, account_id).await?;
        if policy.as_ref().and_then(|p| p.max_password_age).is_none() {
            return Ok(None);
        }
        let changed: Option<i64> =
            sqlx::query_scalar("SELECT password_changed_at FROM login_profiles WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?;
        Ok(password_expiry(policy.as_ref(), changed))
    }

    /// Forgets failures older than a day (called now and then by the server).
    pub async fn prune_sign_in_failures(&self) -> Result<u64, IamError> {
        let before = self.now().as_millis() - FAILURE_MEMORY_MS;
        let done = sqlx::query("DELETE FROM sign_in_failures WHERE last_failure_at < $1")
            .bind(before)
            .execute(self.store().pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Resolves what was typed to a candidate principal (with its hash), its account, and the
    /// failure subject.
    async fn find_candidate<'a>(
        &self,
        attempt: &'a SignIn,
    ) -> Result<(Option<Candidate>, Option<String>, String, &'a Password), SignInError> {
        let pool = self.store().pool();
        match attempt {
            SignIn::Root { email, password } => {
                let key = email.trim().to_lowercase();
                let row = sqlx::query("SELECT account_id, root_password_hash FROM accounts WHERE root_email_key = $1")
                    .bind(&key)
                    .fetch_optional(pool)
                    .await?;
                let candidate = row
                    .map(|r| -> Result<_, sqlx::Error> {
                        Ok(Candidate {
                            principal: Principal::Root { account_id: r.try_get("account_id")? },
                            hash: r.try_get("root_password_hash")?,
                            reset_required: false,
                            password_changed_at: None,
                        })
                    })
                    .transpose()?;
                let account_id = candidate.as_ref().map(|c| c.principal.account_id().to_owned());
                let subject = candidate
                    .as_ref()
                    .map_or_else(|| typed_subject(&["root", &key]), |c| principal_subject(&c.principal));
                Ok((candidate, account_id, subject, password))
            }
            SignIn::User { account, user_name, password } => {
                let account = account.trim();
                let (column, value) = if ids::is_account_id(account) {
                    ("account_id", account.to_owned())
                } else {
                    ("alias", account.to_lowercase())
                };
                let account_id: Option<String> =
                    sqlx::query_scalar(&format!("SELECT account_id FROM accounts WHERE {column} = $1"))
                        .bind(&value)
                        .fetch_optional(pool)
                        .await?;
                let name_key = user_name.trim().to_ascii_lowercase();
                let row = match &account_id {
                    Some(account_id) => {
                        sqlx::query(
                            "SELECT u.user_id, u.user_name, u.path, p.password_hash, p.reset_required, \
                             p.password_changed_at FROM users u JOIN login_profiles p ON p.user_id = u.user_id \
                             WHERE u.account_id = $1 AND u.name_key = $2",
                        )
                        .bind(account_id)
                        .bind(&name_key)
                        .fetch_optional(pool)
                        .await?
                    }
                    None => None,
                };
                let candidate = match (row, &account_id) {
                    (Some(r), Some(account_id)) => Some(Candidate {
                        principal: Principal::User {
                            account_id: account_id.clone(),
                            user_id: r.try_get("user_id")?,
                            user_name: r.try_get("user_name")?,
                            path: r.try_get("path")?,
                        },
                        hash: r.try_get("password_hash")?,
                        reset_required: r.try_get::<i64, _>("reset_required")? != 0,
                        password_changed_at: Some(r.try_get("password_changed_at")?),
                    }),
                    _ => None,
                };
                let subject = candidate.as_ref().map_or_else(
                    || typed_subject(&["user", account_id.as_deref().unwrap_or(&value), &name_key]),
                    |c| principal_subject(&c.principal),
                );
                Ok((candidate, account_id, subject, password))
            }
        }
    }

    /// Counts an attempt on `subject` if it may be made now, in one statement (atomic on both
    /// databases): allowed when the delay owed after the failures so far has passed and, with a
    /// `cap`, fewer than `cap` failures were made in the last day. A refused attempt answers how
    /// long to wait. A successful attempt is given back with [`Iam::refund_attempt`].
    async fn reserve_attempt(&self, subject: &str, cap: Option<i64>) -> Result<(), SignInError> {
        let now = self.now().as_millis();
        let forgotten_before = now - FAILURE_MEMORY_MS;
        let cap = cap.unwrap_or(i64::MAX);
        let sql = format!(
            "INSERT INTO sign_in_failures (subject, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (subject) DO UPDATE SET \
             failures = CASE WHEN sign_in_failures.last_failure_at < $3 THEN 1 \
             ELSE sign_in_failures.failures + 1 END, last_failure_at = $2 \
             WHERE sign_in_failures.last_failure_at < $3 OR (sign_in_failures.failures < $4 \
             AND sign_in_failures.last_failure_at + 1000 * ({}) <= $2)",
            delay_sql("sign_in_failures.failures")
        );
        let counted = sqlx::query(&sql)
            .bind(subject)
            .bind(now)
            .bind(forgotten_before)
            .bind(cap)
            .execute(self.store().pool())
            .await?;
        if counted.rows_affected() > 0 {
            return Ok(());
        }
        let row = sqlx::query("SELECT failures, last_failure_at FROM sign_in_failures WHERE subject = $1")
            .bind(subject)
            .fetch_optional(self.store().pool())
            .await?;
        let (failures, last): (i64, i64) = match row {
            Some(r) => (r.try_get("failures")?, r.try_get("last_failure_at")?),
            None => (0, now),
        };
        let allowed_at = if failures >= cap { last + FAILURE_MEMORY_MS } else { last + delay_after(failures) * 1000 };
        // Rounded up, and at least a second: "in 0 seconds" would invite a retry that fails again.
        let wait_ms = (allowed_at - now).max(1);
        Err(SignInError::Throttled { retry_after_seconds: (wait_ms + 999) / 1000 })
    }

    /// Gives back an attempt that succeeded (the right password while MFA is still owed, say).
    async fn refund_attempt(&self, subject: &str) -> Result<(), IamError> {
        sqlx::query(
            "UPDATE sign_in_failures SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END \
             WHERE subject = $1",
        )
        .bind(subject)
        .execute(self.store().pool())
        .await?;
        Ok(())
    }

    /// Appends the `signin:ConsoleLogin` event of an attempt.
    async fn record_attempt(
        &self,
        caller: &Caller,
        outcome: &str,
        reason: &str,
        mfa_device: Option<&str>,
    ) -> Result<(), IamError> {
        let mut parameters = serde_json::json!({ "MFAUsed": if mfa_device.is_some() { "Yes" } else { "No" } });
        if let Some(serial) = mfa_device {
            parameters = audit::with_parameter(parameters, "MFASerialNumber", serial.into());
        }
        if !reason.is_empty() {
            parameters = audit::with_parameter(parameters, "Reason", reason.into());
        }
        let event = Event { action: "signin:ConsoleLogin", target: None, parameters, outcome };
        let mut conn = self.store().pool().acquire().await?;
        audit::append(&mut conn, caller, self.now(), &event).await
    }

    /// Records a throttled attempt without making the refusal wait for the write.
    fn spawn_failure_event(
        &self,
        context: &SignInContext,
        account_id: &str,
        principal: Option<Principal>,
        reason: &'static str,
    ) {
        let iam = self.clone();
        let caller = context.caller(principal.unwrap_or_else(|| hidden_principal(account_id)));
        tokio::spawn(async move {
            if let Err(e) = iam.record_attempt(&caller, "Failure", reason, None).await {
                tracing::warn!(error = %e, "could not record a throttled sign-in attempt");
            }
        });
    }

    /// The enabled MFA devices a principal's sign-in can use.
    pub async fn sign_in_mfa_devices(&self, principal: &Principal) -> Result<Vec<MfaChoice>, IamError> {
        self.mfa_choices(principal.user_id()).await
    }

    async fn mfa_choices(&self, owner_id: &str) -> Result<Vec<MfaChoice>, IamError> {
        let rows = sqlx::query(
            "SELECT serial_number, kind FROM mfa_devices WHERE owner_id = $1 AND enabled_at IS NOT NULL \
             ORDER BY enabled_at, serial_number",
        )
        .bind(owner_id)
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok(MfaChoice { serial_number: r.try_get("serial_number")?, kind: r.try_get("kind")? }))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Notes when a password was last used, and saves a stronger hash when one was computed:
    /// `rehash` is (the hash the password was verified against, its replacement). The new hash is
    /// written only if the stored one is still the verified one, so a password changed while this
    /// sign-in ran is never overwritten with a hash of the old password.
    pub(crate) async fn record_password_use(
        &self,
        principal: &Principal,
        rehash: Option<(String, String)>,
    ) -> Result<(), IamError> {
        let now = self.now().as_millis();
        let pool = self.store().pool();
        let (verified, new) = rehash.unzip();
        match principal {
            Principal::Root { account_id } => {
                sqlx::query(
                    "UPDATE accounts SET root_password_last_used = $1, root_password_hash = \
                     CASE WHEN root_password_hash = $3 THEN COALESCE($2, root_password_hash) \
                     ELSE root_password_hash END \
                     WHERE account_id = $4",
                )
                .bind(now)
                .bind(new)
                .bind(verified)
                .bind(account_id)
                .execute(pool)
                .await?;
            }
            Principal::User { user_id, .. } => {
                sqlx::query(
                    "UPDATE login_profiles SET password_last_used = $1, password_hash = \
                     CASE WHEN password_hash = $3 THEN COALESCE($2, password_hash) ELSE password_hash END \
                     WHERE user_id = $4",
                )
                .bind(now)
                .bind(new)
                .bind(verified)
                .bind(user_id)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }
}

/// The principal an attempt on an unknown user of `account_id` is recorded as.
fn hidden_principal(account_id: &str) -> Principal {
    Principal::User {
        account_id: account_id.to_owned(),
        user_id: String::new(),
        user_name: HIDDEN_USER.to_owned(),
        path: "/".to_owned(),
    }
}

/// When a password set at `changed_at` expires under `policy`.
pub(crate) fn password_expiry(policy: Option<&PasswordPolicy>, changed_at: Option<i64>) -> Option<Timestamp> {
    let days = policy?.max_password_age?;
    Some(Timestamp::from_millis(changed_at? + days * DAY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_stop_growing() {
        let delays: Vec<i64> = (0..=12).map(delay_after).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(delay_after(i64::MAX), MAX_DELAY_SECONDS);
    }

    #[test]
    fn the_sql_delays_are_the_same_delays() {
        let sql = delay_sql("f");
        assert_eq!(
            sql,
            "CASE WHEN f <= 4 THEN 0 WHEN f = 5 THEN 1 WHEN f = 6 THEN 2 WHEN f = 7 THEN 4 WHEN f = 8 THEN 8 \
             WHEN f = 9 THEN 16 ELSE 30 END"
        );
    }

    #[test]
    fn typed_subjects_hide_what_was_typed() {
        let s = typed_subject(&["user", "123456789012", "alice"]);
        assert!(s.starts_with("typed:") && !s.contains("alice"));
        assert_ne!(s, typed_subject(&["user", "123456789012a", "lice"]), "parts are separated");
    }
    #[tokio::test]
    async fn a_rehash_never_overwrites_a_password_changed_meanwhile() {
        let path = std::env::temp_dir().join(format!("portcullis_rehash_{}.db", crate::ids::reference_id()));
        let store = crate::Store::connect(&format!("sqlite://{}", path.display()), 2).await.unwrap();
        store.migrate().await.unwrap();
        let iam = Iam::new(store, std::sync::Arc::new(crate::SystemClock), crate::SecretKey::generate(), 1).unwrap();
        let new = crate::accounts::NewAccount {
            alias: "example-corp".into(),
            root_email: "root@example.com".into(),
            root_password: Password::new("Root-password-1"),
        };
        let account = iam.bootstrap(new).await.unwrap();
        let root = Principal::Root { account_id: account.account_id.clone() };
        let stored = || async {
            let hash: String = sqlx::query_scalar("SELECT root_password_hash FROM accounts")
                .fetch_one(iam.store().pool())
                .await
                .unwrap();
            hash
        };
        let current = stored().await;
        // The password was changed after this sign-in verified the old hash: the rehash of the
        // old password is dropped.
        iam.record_password_use(&root, Some(("the-hash-verified-before".into(), "rehash-of-old".into())))
            .await
            .unwrap();
        assert_eq!(stored().await, current);
        // Nothing changed meanwhile: the stronger hash is saved.
        iam.record_password_use(&root, Some((current.clone(), "stronger".into()))).await.unwrap();
        assert_eq!(stored().await, "stronger");
        iam.store().close().await;
        for suffix in ["", "-wal", "-shm", ".lock"] {
            std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
        }
    }
}
