//! Console sessions, as records every server node shares: a session lives while its row does.
//! The browser's cookie names a server-side session (tower-sessions) that holds this row's
//! `session_ref`; every request confirms the row, so a session ended here (by its user, by an
//! administrator, by a password change, by deleting the user or its login profile) ends at once on
//! every node, and idle and absolute timeouts hold however the cookie store behaves.

use sqlx::{AnyConnection, Row as _};

use crate::Iam;
use crate::audit::{self, Event};
use crate::authz::Request;
use crate::caller::{Caller, Channel, Principal};
use crate::clock::Timestamp;
use crate::entities::EntityKind;
use crate::error::IamError;
use crate::sign_in::SignInContext;

/// How long a console session may live: idle, and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

impl Default for SessionLimits {
    /// One hour idle, twelve hours in all (AWS's longest console session).
    fn default() -> Self {
        SessionLimits { idle_ms: 60 * 60 * 1000, absolute_ms: 12 * 60 * 60 * 1000 }
    }
}

/// `last_seen_at` is written at most this often per session: idle timeouts are this precise.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// A live session, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub principal_id: String,
    pub created_at: Timestamp,
    /// When the session passed its MFA step.
    pub mfa_at: Option<Timestamp>,
}

/// A session as its user (or an administrator) sees it in a list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    pub session_ref: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub mfa_device: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request came in.
    pub current: bool,
}

/// The session reference of a console caller.
fn own_ref(caller: &Caller) -> Option<&str> {
    match &caller.channel {
        Channel::Console { session_ref } => Some(session_ref),
        _ => None,
    }
}

/// Ends every session of `principal_id` but `except`, in the caller's transaction.
pub(crate) async fn end_sessions_of(
    conn: &mut AnyConnection,
    principal_id: &str,
    except: Option<&str>,
) -> Result<u64, IamError> {
    let done = sqlx::query("DELETE FROM console_sessions WHERE principal_id = $1 AND session_ref <> $2")
        .bind(principal_id)
        .bind(except.unwrap_or(""))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The session to keep when `caller` changes something of `principal_id`: the caller's own, when
/// it is that principal's.
pub(crate) fn kept_session<'a>(caller: &'a Caller, principal_id: &str) -> Option<&'a str> {
    (caller.principal.user_id() == principal_id).then(|| own_ref(caller)).flatten()
}

impl Iam {
    /// Records a new console session after a complete sign-in; answers its reference.
    pub async fn open_console_session(
        &self,
        principal: &Principal,
        context: &SignInContext,
        mfa_device: Option<&str>,
    ) -> Result<(String, Timestamp), IamError> {
        let session_ref = uuid_like();
        let now = self.now();
        sqlx::query(
            "INSERT INTO console_sessions (session_ref, account_id, principal_id, created_at, last_seen_at, \
             mfa_at, mfa_device, source_ip, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
        )
        .bind(&session_ref)
        .bind(principal.account_id())
        .bind(principal.user_id())
        .bind(now.as_millis())
        .bind(mfa_device.map(|_| now.as_millis()))
        .bind(mfa_device)
        .bind(context.source_ip.map(|ip| ip.to_string()))
        .bind(context.user_agent.clone())
        .execute(self.store().pool())
        .await?;
        Ok((session_ref, now))
    }

    /// The session named `session_ref` if it is still live under `limits`, noting this use. A
    /// session past a timeout is removed and answers `None`.
    pub async fn touch_console_session(
        &self,
        session_ref: &str,
        limits: SessionLimits,
    ) -> Result<Option<LiveSession>, IamError> {
        let pool = self.store().pool();
        let row = sqlx::query(
            "SELECT principal_id, created_at, last_seen_at, mfa_at FROM console_sessions WHERE session_ref = $1",
        )
        .bind(session_ref)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now().as_millis();
        let created: i64 = row.try_get("created_at")?;
        let seen: i64 = row.try_get("last_seen_at")?;
        if now - seen > limits.idle_ms || now - created > limits.absolute_ms {
            self.end_console_session(session_ref).await?;
            return Ok(None);
        }
        // Written at most once a minute, or a tenth of the idle timeout when that is shorter, so that
        // a session in use never looks idle for longer than it was.
        if now - seen > TOUCH_EVERY_MS.min(limits.idle_ms / 10) {
            sqlx::query("UPDATE console_sessions SET last_seen_at = $2 WHERE session_ref = $1")
                .bind(session_ref)
                .bind(now)
                .execute(pool)
                .await?;
        }
        Ok(Some(LiveSession {
            principal_id: row.try_get("principal_id")?,
            created_at: Timestamp::from_millis(created),
            mfa_at: row.try_get::<Option<i64>, _>("mfa_at")?.map(Timestamp::from_millis),
        }))
    }

    /// Ends one session (sign-out).
    pub async fn end_console_session(&self, session_ref: &str) -> Result<(), IamError> {
        sqlx::query("DELETE FROM console_sessions WHERE session_ref = $1")
            .bind(session_ref)
            .execute(self.store().pool())
            .await?;
        Ok(())
    }

    /// The caller's own console sessions, newest first. Every principal may see its own.
    pub async fn list_own_console_sessions(&self, caller: &Caller) -> Result<Vec<SessionInfo>, IamError> {
        self.sessions_of(caller.principal.user_id(), own_ref(caller)).await
    }

    /// Ends one of the caller's own sessions. Every principal may end its own.
    pub async fn end_own_console_session(&self, caller: &Caller, session_ref: &str) -> Result<(), IamError> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE session_ref = $1 AND principal_id = $2")
            .bind(session_ref)
            .bind(caller.principal.user_id())
            .execute(self.store().pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(IamError::NoSuchEntity("The session cannot be found: it may have ended already.".to_owned()));
        }
        Ok(())
    }

    /// A user's console sessions, for an administrator: authorized as `iam:GetLoginProfile` on the
    /// user (who may see whether a user has a console password may see its sessions).
    pub async fn list_user_console_sessions(
        &self,
        caller: &Caller,
        user_name: &str,
    ) -> Result<Vec<SessionInfo>, IamError> {
        let name = EntityKind::User.parse_name(user_name)?;
        let mut conn = self.store().pool().acquire().await?;
        let user = self
            .read_entity(
                &mut conn,
                caller,
                EntityKind::User,
                &name,
                "iam:GetLoginProfile",
                || serde_json::json!({ "UserName": name }),
            )
            .await?;
        drop(conn);
        self.sessions_of(&user.id, own_ref(caller)).await
    }

    /// Ends every console session of a user, for an administrator: authorized as
    /// `iam:UpdateLoginProfile` on the user (who may set its password may end its sessions) and
    /// recorded as `portcullis:EndConsoleSessions`. The caller's own session is kept.
    pub async fn end_user_console_sessions(&self, caller: &Caller, user_name: &str) -> Result<u64, IamError> {
        self.record_failures(caller, async move {
            let name = EntityKind::User.parse_name(user_name)?;
            let account_id = caller.account_id().to_owned();
            let parameters = || serde_json::json!({ "UserName": name });
            let found = {
                let mut conn = self.store().pool().acquire().await?;
                crate::entities::find(&mut conn, &account_id, EntityKind::User, &name).await?
            };
            let arn = crate::entities::target_arn(&account_id, EntityKind::User, found.as_ref(), &name);
            self.authorize_or_record(caller, Request::new("iam:UpdateLoginProfile", &arn, &account_id), parameters)
                .await?;
            let user = found.ok_or_else(|| EntityKind::User.no_such(&name))?;
            let mut tx = self.begin_write(&account_id).await?;
            let ended = end_sessions_of(&mut tx, &user.id, kept_session(caller, &user.id)).await?;
            let event = Event {
                action: "portcullis:EndConsoleSessions",
                target: Some(&arn),
                parameters: audit::with_parameter(parameters(), "SessionsEnded", ended.into()),
                outcome: "Success",
            };
            audit::append(&mut tx, caller, self.now(), &event).await?;
            tx.commit().await?;
            Ok(ended)
        })
        .await
    }

    /// Removes sessions past their timeouts (called now and then by the server).
    pub async fn prune_console_sessions(&self, limits: SessionLimits) -> Result<u64, IamError> {
        let now = self.now().as_millis();
        let done = sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(now - limits.idle_ms)
            .bind(now - limits.absolute_ms)
            .execute(self.store().pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn sessions_of(&self, principal_id: &str, current: Option<&str>) -> Result<Vec<SessionInfo>, IamError> {
        let rows = sqlx::query(
            "SELECT session_ref, created_at, last_seen_at, mfa_device, source_ip, user_agent FROM console_sessions \
             WHERE principal_id = $1 ORDER BY created_at DESC, session_ref",
        )
        .bind(principal_id)
        .fetch_all(self.store().pool())
        .await?;
        rows.iter()
            .map(|r| {
                let session_ref: String = r.try_get("session_ref")?;
                Ok(SessionInfo {
                    current: current == Some(session_ref.as_str()),
                    session_ref,
                    created_at: Timestamp::from_millis(r.try_get("created_at")?),
                    last_seen_at: Timestamp::from_millis(r.try_get("last_seen_at")?),
                    mfa_device: r.try_get("mfa_device")?,
                    source_ip: r.try_get("source_ip")?,
                    user_agent: r.try_get("user_agent")?,
                })
            })
            .collect()
    }
}

/// 128 random bits, hex: a session's public name (audit events carry it; it opens nothing).
fn uuid_like() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
