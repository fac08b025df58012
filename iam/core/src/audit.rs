//! The audit log: one event per IAM action, allowed or denied. A change's event is appended in the
//! same transaction as the change, so it exists exactly when the change does, with `Success` or the
//! AWS error code it answered; a refusal's event (`AccessDenied`) is written at once, on its own.
//! Reads (`Get*`, `List*`, `Simulate*`) change nothing, so their events (`Allowed`) are collected
//! in memory and written in batches about every second (and before every audit query), which
//! keeps a durable write off every read; they therefore take their place in the log when written. Parameters never hold secrets: the
//! actions pass only names, paths and tags.

use sqlx::{AnyConnection, Row as _};

use crate::caller::{Caller, Channel};
use crate::clock::Timestamp;
use crate::error::IamError;

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The action in AWS's spelling, for example `iam:CreateUser`.
    pub action: &'a str,
    /// The ARN (or name) of what the action was on.
    pub target: Option<&'a str>,
    pub parameters: serde_json::Value,
    /// `Success` or the AWS error code a change answered with, `Allowed` for a read, or
    /// `AccessDenied`.
    pub outcome: &'a str,
}

/// A recorded event, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub event_id: i64,
    pub occurred_at: Timestamp,
    pub principal_arn: String,
    pub channel: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    /// The id the client gave the request, if it gave a well-formed one.
    pub client_request_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub parameters: String,
    pub outcome: String,
}

fn channel_label(channel: &Channel) -> String {
    match channel {
        Channel::Console { session_ref } => format!("console:{session_ref}"),
        Channel::AccessKey { access_key_id } => format!("access-key:{access_key_id}"),
        Channel::Internal => "internal".to_owned(),
    }
}

/// Adds one member to an event's parameters (an object).
pub(crate) fn with_parameter(
    mut parameters: serde_json::Value,
    key: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    if let Some(map) = parameters.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
    parameters
}

/// Whether an action only reads, so that its success is logged in a batch.
pub(crate) fn is_read(action: &str) -> bool {
    let verb = action.split_once(':').map_or(action, |(_, v)| v);
    verb.starts_with("Get")
        || verb.starts_with("List")
        || verb.starts_with("Simulate")
        || verb == "GenerateServiceLastAccessedDetails"
        || verb == "LookupEvents"
}

/// An event waiting to be written.
#[derive(Debug, Clone)]
struct Pending {
    account_id: String,
    at: Timestamp,
    principal_arn: String,
    channel: String,
    source_ip: Option<String>,
    request_id: Option<String>,
    client_request_id: Option<String>,
    action: String,
    target: Option<String>,
    parameters: String,
    outcome: String,
}

/// Read events kept in memory at most, if the database stays unwritable: beyond this the oldest
/// are dropped (and said so in the log) rather than the process running out of memory.
const MAX_PENDING_READS: usize = 100_000;

/// Read events waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct ReadEvents {
    pending: std::sync::Mutex<Vec<Pending>>,
}

impl ReadEvents {
    pub(crate) fn push(&self, caller: &Caller, at: Timestamp, event: &Event<'_>) {
        let pending = Pending {
            account_id: caller.account_id().to_owned(),
            at,
            principal_arn: caller.principal.arn().to_string(),
            channel: channel_label(&caller.channel),
            source_ip: caller.source_ip.map(|ip| ip.to_string()),
            request_id: caller.request_id.clone(),
            client_request_id: caller.client_request_id.clone(),
            action: event.action.to_owned(),
            target: event.target.map(str::to_owned),
            parameters: event.parameters.to_string(),
            outcome: event.outcome.to_owned(),
        };
        if let Ok(mut p) = self.pending.lock() {
            p.push(pending);
        }
    }

    /// Writes the waiting events in one transaction. If that fails they wait for the next flush:
    /// a database that is briefly unreachable loses no event.
    pub(crate) async fn flush(&self, pool: &sqlx::AnyPool) -> Result<(), IamError> {
        let events = self.pending.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
        if events.is_empty() {
            return Ok(());
        }
        let error = match write_all(pool, &events).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        // One at a time, to tell a database that is away or busy (everything waits for the next
        // flush) from one that refuses one event, and would refuse every batch holding it (that
        // event alone is dropped, and said so, rather than all auditing stopping).
        let mut kept = Vec::new();
        let mut rest = events.into_iter();
        while let Some(event) = rest.next() {
            match write_all(pool, std::slice::from_ref(&event)).await {
                Ok(()) => {}
                Err(e) if !is_transient(&e) => {
                    tracing::error!(error = %e, action = %event.action, "the database refused an audit event; dropped");
                }
                Err(_) => {
                    kept.push(event);
                    kept.extend(rest);
                    break;
                }
            }
        }
        if kept.is_empty() {
            return Ok(());
        }
        if let Ok(mut pending) = self.pending.lock() {
            // Back in front of whatever arrived meanwhile, in order.
            let newer = std::mem::replace(&mut *pending, kept);
            pending.extend(newer);
            let excess = pending.len().saturating_sub(MAX_PENDING_READS);
            if excess > 0 {
                pending.drain(..excess);
                tracing::error!(dropped = excess, "the audit log could not be written for too long");
            }
        }
        Err(error.into())
    }

    /// How many read events wait to be written.
    pub(crate) fn len(&self) -> usize {
        self.pending.lock().map(|p| p.len()).unwrap_or(0)
    }
}

/// Whether a failed write may succeed if tried again later: the database away, busy, full or
/// failing over (PostgreSQL classes 08, 40, 53, 57 and read-only 25006; SQLite BUSY, LOCKED,
/// IOERR, FULL), or no database answer at all. Anything else refuses the row itself.
fn is_transient(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(e) = error else { return true };
    let Some(code) = e.code() else { return false };
    if let Ok(sqlite) = code.parse::<u32>() {
        return matches!(sqlite & 0xff, 5 | 6 | 10 | 13);
    }
    ["08", "40", "53", "57"].iter().any(|class| code.starts_with(class)) || code == "25006"
}

async fn write_all(pool: &sqlx::AnyPool, events: &[Pending]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for e in events {
        sqlx::query(
            "INSERT INTO audit_events (account_id, occurred_at, principal_arn, channel, source_ip, \
             request_id, client_request_id, action, target, parameters, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&e.account_id)
        .bind(e.at.as_millis())
        .bind(&e.principal_arn)
        .bind(&e.channel)
        .bind(&e.source_ip)
        .bind(&e.request_id)
        .bind(&e.client_request_id)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.parameters)
        .bind(&e.outcome)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The first change a call was authorized for, kept until the call ends (see
/// [`Iam::record_failures`]).
struct AuthorizedChange {
    action: String,
    target: String,
    parameters: serde_json::Value,
}

tokio::task_local! {
    static AUTHORIZED_CHANGE: std::cell::RefCell<Option<AuthorizedChange>>;
}

/// Notes that the running call was authorized for a change (the first one it was; a call such as
/// `CreateUser` with tags is also authorized for `TagUser`). Outside [`Iam::record_failures`]
/// this does nothing.
pub(crate) fn note_authorized_change(action: &str, target: &str, parameters: impl FnOnce() -> serde_json::Value) {
    let _outside = AUTHORIZED_CHANGE.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(AuthorizedChange {
                action: action.to_owned(),
                target: target.to_owned(),
                parameters: parameters(),
            });
        }
    });
}

impl crate::Iam {
    /// Runs one IAM action and, if it fails after it was authorized, records the failure with
    /// its error code, as CloudTrail records `errorCode`: the change's own audit row rolled back
    /// with its transaction. Refusals (`AccessDenied`) are recorded where they happen. Every
    /// public action of iam-core that can change something runs through this.
    pub(crate) async fn record_failures<T>(
        &self,
        caller: &Caller,
        action: impl std::future::Future<Output = Result<T, IamError>>,
    ) -> Result<T, IamError> {
        let (result, authorized) = AUTHORIZED_CHANGE
            .scope(std::cell::RefCell::new(None), async {
                let result = action.await;
                (result, AUTHORIZED_CHANGE.with(|slot| slot.borrow_mut().take()))
            })
            .await;
        match (result, authorized) {
            (Err(error), Some(change)) if error.code() != "AccessDenied" => {
                let event = Event {
                    action: &change.action,
                    target: Some(&change.target),
                    parameters: change.parameters,
                    outcome: error.code(),
                };
                Err(self.refused(None, caller, event, error).await)
            }
            (result, _) => result,
        }
    }
}

/// Appends `event` through `conn`, which is normally the action's open transaction.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    caller: &Caller,
    at: Timestamp,
    event: &Event<'_>,
) -> Result<(), IamError> {
    sqlx::query(
        "INSERT INTO audit_events (account_id, occurred_at, principal_arn, channel, source_ip, \
         request_id, client_request_id, action, target, parameters, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(caller.account_id())
    .bind(at.as_millis())
    .bind(caller.principal.arn().to_string())
    .bind(channel_label(&caller.channel))
    .bind(caller.source_ip.map(|ip| ip.to_string()))
    .bind(caller.request_id.clone())
    .bind(caller.client_request_id.clone())
    .bind(event.action)
    .bind(event.target)
    .bind(event.parameters.to_string())
    .bind(event.outcome)
    .execute(conn)
    .await?;
    Ok(())
}

/// Events of one account, newest first, after `before` (an event id) when given.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    account_id: &str,
    principal_arn: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRecord>, IamError> {
    let rows = sqlx::query(
        "SELECT event_id, occurred_at, principal_arn, channel, source_ip, request_id, client_request_id, action, \
         target, parameters, outcome FROM audit_events \
         WHERE account_id = $1 AND ($2 IS NULL OR principal_arn = $2) AND event_id < $3 \
         ORDER BY event_id DESC LIMIT $4",
    )
    .bind(account_id)
    .bind(principal_arn)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditRecord {
                event_id: row.try_get("event_id")?,
                occurred_at: Timestamp::from_millis(row.try_get("occurred_at")?),
                principal_arn: row.try_get("principal_arn")?,
                channel: row.try_get("channel")?,
                source_ip: row.try_get("source_ip")?,
                request_id: row.try_get("request_id")?,
                client_request_id: row.try_get("client_request_id")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                parameters: row.try_get("parameters")?,
                outcome: row.try_get("outcome")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(IamError::from)
}
