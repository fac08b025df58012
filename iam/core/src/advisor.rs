//! Access Advisor: which services a user, group, role or policy grants, and when each was last
//! used through it. The least-privilege signal: a service granted and never accessed is a
//! permission to remove.
//!
//! Every allowed request is noted in memory (principal, service, the policy that granted it, the
//! action, the time) by [`Iam::authorize`], and the notes are written to the store in batches: every
//! [`FLUSH_INTERVAL`], and before every Access Advisor answer. A crash loses at most one interval
//! of notes, which is telemetry, not state; writing one row per request would put a durable write
//! on every read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use iam_policy::{PolicyDocument, parse_policy};
use sqlx::Row as _;

use crate::Iam;
use crate::authz::Request;
use crate::aws_managed;
use crate::caller::{Caller, Principal};
use crate::clock::Timestamp;
use crate::entities::{self, EntityKind};
use crate::error::IamError;

/// How often noted accesses are written to the store.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(15);

pub use crate::services::{Service, granted_services, service_name, services};

#[derive(Debug, Clone)]
struct Noted {
    principal_id: String,
    service: String,
    /// Shared with the compiled policy, so a repeated note compares a pointer, not an ARN.
    policy: std::sync::Arc<str>,
    account_id: String,
    principal_arn: String,
    action: String,
    at: Timestamp,
}

/// Accesses noted since the last flush. Keyed by a hash of (principal id, service, policy), with
/// the strings kept in the entry and compared, so a principal's repeated use of a service costs
/// no allocation: this runs on every allowed request.
/// The note keys are hashes already: the map uses them as they are.
#[derive(Debug, Default, Clone, Copy)]
struct BuildNoteHasher;

#[derive(Debug, Default)]
struct NoteHasher(u64);

impl std::hash::Hasher for NoteHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl std::hash::BuildHasher for BuildNoteHasher {
    type Hasher = NoteHasher;

    fn build_hasher(&self) -> NoteHasher {
        NoteHasher::default()
    }
}

#[derive(Debug, Default)]
pub struct AccessNotes {
    pending: Mutex<HashMap<u64, Vec<Noted>, BuildNoteHasher>>,
}

/// A cheap hash of (principal id, service, policy): each string's length and last 16 bytes, where
/// ids, service prefixes and policy names differ. Entries with the same hash are told apart by
/// comparing the strings, so a weak hash costs only a longer bucket, never a wrong record; a
/// decision can name ten policies, so hashing every byte of every ARN would cost more than the
/// decision itself.
fn note_key(principal_id: &str, service: &str, policy: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for part in [principal_id.as_bytes(), service.as_bytes(), policy.as_bytes()] {
        let tail = part.get(part.len().saturating_sub(16)..).unwrap_or(part);
        let mut word = [0u8; 16];
        if let Some(w) = word.get_mut(..tail.len()) {
            w.copy_from_slice(tail);
        }
        let (a, b) = word.split_at(8);
        let a = u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
        let b = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        for x in [a, b, part.len() as u64] {
            h = (h ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        }
    }
    h
}

impl AccessNotes {
    /// Notes that `principal` used `action` through `policies` (the policies that granted it).
    pub(crate) fn note(&self, principal: &Principal, action: &str, policies: &[&std::sync::Arc<str>], at: Timestamp) {
        let (account_id, principal_id) = match principal {
            Principal::User { account_id, user_id, .. } => (account_id, user_id),
            // The root user has no policies to advise on.
            Principal::Root { .. } => return,
        };
        let prefix = action.split_once(':').map_or(action, |(s, _)| s);
        // Lower-cased on the stack when short and ASCII (service prefixes are), else on the heap.
        let mut lowered = [0u8; 64];
        let heap;
        let service = match lowered.get_mut(..prefix.len()) {
            Some(buf) if prefix.is_ascii() => {
                buf.copy_from_slice(prefix.as_bytes());
                buf.make_ascii_lowercase();
                std::str::from_utf8(buf).unwrap_or(prefix)
            }
            _ => {
                heap = prefix.to_lowercase();
                &heap
            }
        };
        let Ok(mut pending) = self.pending.lock() else { return };
        for policy in policies {
            let bucket = pending.entry(note_key(principal_id, service, policy)).or_default();
            // The policy's name is shared with its compiled form: a pointer compare usually settles it.
            let same_policy = |n: &Noted| std::sync::Arc::ptr_eq(&n.policy, policy) || *n.policy == ***policy;
            match bucket.iter_mut().find(|n| same_policy(n) && n.service == service && n.principal_id == *principal_id)
            {
                Some(n) => {
                    if n.action != action {
                        action.clone_into(&mut n.action);
                    }
                    n.at = n.at.max(at);
                }
                None => bucket.push(Noted {
                    principal_id: principal_id.clone(),
                    service: service.to_owned(),
                    policy: std::sync::Arc::clone(policy),
                    account_id: account_id.clone(),
                    principal_arn: principal.arn().to_string(),
                    action: action.to_owned(),
                    at,
                }),
            }
        }
    }

    fn take(&self) -> Vec<Noted> {
        self.pending.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default().into_values().flatten().collect()
    }
}

/// A service as Access Advisor reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceLastAccessed {
    pub service_namespace: String,
    pub service_name: String,
    /// `None`: granted but not accessed (in the tracking period).
    pub last_authenticated: Option<Timestamp>,
    /// The principal that accessed it last.
    pub last_authenticated_entity: Option<String>,
    pub last_action: Option<String>,
    /// How many principals accessed it through the target.
    pub total_authenticated_entities: i64,
}

/// What Access Advisor reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Entity(entities::Entity),
    Policy(String),
}

impl Iam {
    /// Writes the noted accesses to the store.
    pub async fn flush_access_notes(&self) -> Result<(), IamError> {
        let notes = self.access_notes().take();
        if notes.is_empty() {
            return Ok(());
        }
        let mut tx = self.store().pool().begin().await?;
        for n in &notes {
            sqlx::query(
                "INSERT INTO service_access (account_id, principal_id, principal_arn, service, policy, last_action, \
                 last_accessed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (principal_id, service, policy) DO UPDATE SET principal_arn = excluded.principal_arn, \
                 last_action = excluded.last_action, last_accessed_at = excluded.last_accessed_at \
                 WHERE excluded.last_accessed_at >= service_access.last_accessed_at",
            )
            .bind(&n.account_id)
            .bind(&n.principal_id)
            .bind(&n.principal_arn)
            .bind(&n.service)
            .bind(&*n.policy)
            .bind(&n.action)
            .bind(n.at.as_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Access Advisor for a user, group, role or managed policy (by ARN): every service its
    /// policies grant, by name, with when it was last accessed through them (and by whom), or
    /// never. Authorized as `iam:GenerateServiceLastAccessedDetails` on the target.
    pub async fn service_last_accessed(
        &self,
        caller: &Caller,
        arn: &str,
    ) -> Result<Vec<ServiceLastAccessed>, IamError> {
        let account_id = caller.account_id();
        self.authorize_or_record(
            caller,
            Request::new("iam:GenerateServiceLastAccessedDetails", arn, account_id),
            || serde_json::json!({ "Arn": arn }),
        )
        .await?;
        self.flush_access_notes().await?;
        let mut conn = self.store().pool().acquire().await?;
        let target = resolve_target(&mut conn, account_id, arn).await?;
        // The policies that count, by the names decisions give them, and their documents.
        let mut names: Vec<String> = Vec::new();
        let mut docs: Vec<PolicyDocument> = Vec::new();
        let entity_ids: Vec<String> = match &target {
            Target::Policy(policy_arn) => {
                names.push(policy_arn.clone());
                docs.extend(managed_document(&mut conn, policy_arn).await?);
                Vec::new()
            }
            Target::Entity(entity) => {
                let (entity_names, entity_docs) = entity_documents(&mut conn, account_id, entity).await?;
                names.extend(entity_names);
                docs.extend(entity_docs);
                match entity.kind {
                    EntityKind::Group => {
                        let members = sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1")
                            .bind(&entity.id)
                            .fetch_all(&mut *conn)
                            .await?;
                        members.iter().map(|r| r.try_get("user_id")).collect::<Result<_, sqlx::Error>>()?
                    }
                    _ => vec![entity.id.clone()],
                }
            }
        };
        let rows = sqlx::query(
            "SELECT principal_id, principal_arn, service, policy, last_action, last_accessed_at FROM service_access \
             WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut last: BTreeMap<String, (i64, String, String, std::collections::HashSet<String>)> = BTreeMap::new();
        for row in &rows {
            let principal_id: String = row.try_get("principal_id")?;
            let policy: String = row.try_get("policy")?;
            let counts =
                names.contains(&policy) && (matches!(target, Target::Policy(_)) || entity_ids.contains(&principal_id));
            if !counts {
                continue;
            }
            let at: i64 = row.try_get("last_accessed_at")?;
            let entry = last
                .entry(row.try_get("service")?)
                .or_insert_with(|| (i64::MIN, String::new(), String::new(), Default::default()));
            entry.3.insert(principal_id);
            if at > entry.0 {
                entry.0 = at;
                entry.1 = row.try_get("principal_arn")?;
                entry.2 = row.try_get("last_action")?;
            }
        }
        let mut out: Vec<ServiceLastAccessed> = granted_services(&docs)
            .into_iter()
            .map(|s| {
                let seen = last.get(&s.prefix);
                ServiceLastAccessed {
                    service_namespace: s.prefix.clone(),
                    service_name: s.name.clone(),
                    last_authenticated: seen.map(|l| Timestamp::from_millis(l.0)),
                    last_authenticated_entity: seen.map(|l| l.1.clone()),
                    last_action: seen.map(|l| l.2.clone()),
                    total_authenticated_entities: seen.map_or(0, |l| i64::try_from(l.3.len()).unwrap_or(i64::MAX)),
                }
            })
            .collect();
        // Services used through the target but missing from the list (such as Portcullis's own).
        for (service, l) in &last {
            if !out.iter().any(|s| &s.service_namespace == service) {
                out.push(ServiceLastAccessed {
                    service_namespace: service.clone(),
                    service_name: service_name(service),
                    last_authenticated: Some(Timestamp::from_millis(l.0)),
                    last_authenticated_entity: Some(l.1.clone()),
                    last_action: Some(l.2.clone()),
                    total_authenticated_entities: i64::try_from(l.3.len()).unwrap_or(i64::MAX),
                });
            }
        }
        out.sort_by_key(|a| a.service_name.to_ascii_lowercase());
        Ok(out)
    }
}

/// The policies of a user (with its groups'), group or role: their names as decisions give them,
/// and their documents.
pub(crate) async fn entity_documents(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    entity: &entities::Entity,
) -> Result<(Vec<String>, Vec<PolicyDocument>), IamError> {
    let (mut names, mut docs) = (Vec::new(), Vec::new());
    let mut holders = vec![(entity.id.clone(), entity.arn.clone())];
    if entity.kind == EntityKind::User {
        let groups = sqlx::query(
            "SELECT g.group_id, g.group_name, g.path FROM group_members m JOIN iam_groups g \
             ON g.group_id = m.group_id WHERE m.user_id = $1",
        )
        .bind(&entity.id)
        .fetch_all(&mut *conn)
        .await?;
        for g in &groups {
            let (name, path): (String, String) = (g.try_get("group_name")?, g.try_get("path")?);
            holders.push((g.try_get("group_id")?, entities::entity_arn(account_id, EntityKind::Group, &path, &name)));
        }
    }
    for (holder_id, holder_arn) in &holders {
        let inline = sqlx::query("SELECT policy_name, document FROM inline_policies WHERE entity_id = $1")
            .bind(holder_id)
            .fetch_all(&mut *conn)
            .await?;
        for row in &inline {
            let name: String = row.try_get("policy_name")?;
            names.push(crate::authz::inline_policy_source(holder_arn, &name));
            docs.extend(parse_policy(&row.try_get::<String, _>("document")?).ok());
        }
        let attached = sqlx::query("SELECT policy_arn FROM policy_attachments WHERE entity_id = $1")
            .bind(holder_id)
            .fetch_all(&mut *conn)
            .await?;
        for row in &attached {
            let policy_arn: String = row.try_get("policy_arn")?;
            docs.extend(managed_document(conn, &policy_arn).await?);
            names.push(policy_arn);
        }
    }
    Ok((names, docs))
}

async fn managed_document(conn: &mut sqlx::AnyConnection, arn: &str) -> Result<Option<PolicyDocument>, IamError> {
    if aws_managed::is_aws_managed_arn(arn) {
        return Ok(aws_managed::find(arn).and_then(|p| parse_policy(&p.document).ok()));
    }
    let row = sqlx::query(
        "SELECT v.document FROM managed_policies m JOIN policy_versions v ON v.policy_id = m.policy_id \
         AND v.version_id = m.default_version WHERE m.arn = $1",
    )
    .bind(arn)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.try_get::<String, _>("document")).transpose()?.and_then(|d| parse_policy(&d).ok()))
}

async fn resolve_target(conn: &mut sqlx::AnyConnection, account_id: &str, arn: &str) -> Result<Target, IamError> {
    let invalid = || IamError::InvalidInput(format!("ARN {arn} is not valid."));
    let parsed = iam_policy::Arn::parse(arn).map_err(|_| invalid())?;
    if parsed.service != "iam" {
        return Err(invalid());
    }
    let (kind_text, rest) = parsed.resource.split_once('/').ok_or_else(invalid)?;
    if kind_text == "policy" {
        let exists = if aws_managed::is_aws_managed_arn(arn) {
            aws_managed::find(arn).is_some()
        } else {
            sqlx::query("SELECT 1 AS one FROM managed_policies WHERE arn = $1 AND account_id = $2")
                .bind(arn)
                .bind(account_id)
                .fetch_optional(&mut *conn)
                .await?
                .is_some()
        };
        return if exists {
            Ok(Target::Policy(arn.to_owned()))
        } else {
            Err(IamError::NoSuchEntity(format!("Policy {arn} does not exist.")))
        };
    }
    let kind = EntityKind::parse(kind_text).ok_or_else(invalid)?;
    if parsed.account != account_id {
        return Err(IamError::NoSuchEntity(format!("The {kind_text} with ARN {arn} cannot be found.")));
    }
    let name = rest.rsplit('/').next().unwrap_or_default();
    let entity = entities::find(conn, account_id, kind, name).await?.filter(|e| e.arn == arn);
    entity.map(Target::Entity).ok_or_else(|| kind.no_such(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(doc: &str) -> Vec<String> {
        let docs = [parse_policy(doc).unwrap()];
        granted_services(&docs).into_iter().map(|s| s.prefix.clone()).collect()
    }

    #[test]
    fn wildcards_and_not_action_expand_to_services() {
        assert!(services().len() > 400);
        let allow = |actions: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{actions},"Resource":"*"}}]}}"#
            )
        };
        assert_eq!(granted(&allow(r#"["s3:GetObject","iam:List*"]"#)), ["iam", "s3"]);
        assert_eq!(granted(&allow(r#""*""#)).len(), services().len());
        assert_eq!(granted(&allow(r#""s3:NoSuchAction""#)), Vec::<String>::new());
        let ec2_family = granted(&allow(r#""ec2*:*""#));
        assert!(ec2_family.contains(&"ec2".to_owned()) && ec2_family.contains(&"ec2messages".to_owned()));
        let not_iam =
            granted(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#);
        assert!(!not_iam.contains(&"iam".to_owned()) && not_iam.contains(&"s3".to_owned()));
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert!(granted(deny).is_empty(), "denies grant nothing");
    }
}
