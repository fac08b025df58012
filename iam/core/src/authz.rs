//! The one authorization function every IAM action calls before it acts (ARCHITECTURE rule 1).
//!
//! A caller's effective policies (inline and attached managed policies, the same of each of its
//! groups, its permissions boundary) and its own context keys (`aws:username`, `aws:PrincipalTag/*`,
//! ...) are loaded once, compiled, and kept in [`PolicyCache`]. Every write that changes what a
//! principal may do bumps its account's `authz_revision` in its transaction and empties the
//! account's entries here before and after it commits. A cache entry is only stored if no
//! invalidation happened while it was being loaded, so a load that read the old state can never
//! outlive the write that changed it.
//!
//! With several server processes on PostgreSQL, a write in one must be seen by the others on
//! their very next request. `NOTIFY` (see [`listen_for_invalidations`]) carries invalidations to
//! them within a millisecond or so, and a lost LISTEN connection empties the cache; but a
//! notification can still arrive just after the next request has begun (the tests saw it happen).
//! So on PostgreSQL each authorization also confirms its cached entry against the account's
//! `authz_revision`, one primary-key read: a permission removed anywhere is never used again
//! after its write is acknowledged. On SQLite the one process sees its own writes at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

use iam_policy::request::KeyName;
use iam_policy::{
    CompiledPolicy, Context, Decision, DenyStep, Outcome, PolicySet, PolicySource, PrincipalType, RequestPrincipal,
    compile, parse_policy,
};
use sqlx::{AnyConnection, Row as _};

use crate::caller::{Caller, Channel, Principal};
use crate::clock::Timestamp;
use crate::error::IamError;
use crate::{Iam, aws_managed};

/// The channel PostgreSQL carries invalidations on; the payload is the account id.
pub const INVALIDATION_CHANNEL: &str = "portcullis_authz";

/// What is asked: an action in AWS's spelling (`iam:CreateUser`) on a resource ARN, with the
/// context keys this action supplies (`aws:RequestTag/...`, `aws:TagKeys`, `iam:PolicyARN`,
/// `iam:PermissionsBoundary`). The caller's own keys are added by [`Iam::authorize`].
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    /// The account that owns the resource.
    pub resource_account: &'a str,
    pub context: Vec<(String, Vec<String>)>,
    /// A grant an account setting makes, decided as one more identity policy: it allows, but
    /// explicit denies, boundaries and session policies still apply to it
    /// (`AllowUsersToChangePassword`).
    pub setting_grant: Option<Arc<CompiledPolicy>>,
    /// The request creates its resource (`CreateUser`, and the tagging a create with tags is also
    /// authorized for): nothing of the target is read, for there is none yet (a namesake's tags
    /// would be the wrong ones, and would tell whether the name is taken before authorization).
    pub creating: bool,
}

impl<'a> Request<'a> {
    pub fn new(action: &'a str, resource: &'a str, resource_account: &'a str) -> Request<'a> {
        Request { action, resource, resource_account, context: Vec::new(), setting_grant: None, creating: false }
    }

    /// Marks the request as creating its resource (see [`Request::creating`]).
    pub fn creating(mut self) -> Request<'a> {
        self.creating = true;
        self
    }

    /// Adds a context key with one value.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Request<'a> {
        self.context.push((key.to_owned(), vec![value.into()]));
        self
    }

    /// Adds a context key with every value given (an empty list is a present, empty key).
    pub fn with_all(mut self, key: &str, values: Vec<String>) -> Request<'a> {
        self.context.push((key.to_owned(), values));
        self
    }

    /// The keys AWS supplies when a request sets tags: `aws:RequestTag/KEY` for each tag and
    /// `aws:TagKeys` with every key. Nothing when there are no tags.
    pub fn with_request_tags(mut self, tags: &[crate::names::Tag]) -> Request<'a> {
        if tags.is_empty() {
            return self;
        }
        for tag in tags {
            self = self.with(&format!("aws:RequestTag/{}", tag.key), tag.value.clone());
        }
        self.with_all("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect())
    }
}

/// A principal's compiled policies and own context keys, as cached.
#[derive(Debug)]
pub struct Effective {
    pub account_id: String,
    /// The account's `authz_revision` when this was loaded.
    pub revision: i64,
    pub principal: RequestPrincipal,
    pub policies: PolicySet,
    /// `aws:username`, `aws:userid`, `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:PrincipalTag/*`.
    pub keys: Arc<Context>,
    /// Whether any of the policies reads a key that comes from the target resource (its tags, its
    /// permissions boundary), in a condition or a policy variable: only then does authorization
    /// read the target (see
    /// [`resource_facts`]). Most principals' policies never do, and pay nothing for it.
    pub reads_resource_facts: bool,
}

/// Whether a (lower-cased) condition key is one that [`resource_facts`] supplies.
fn is_resource_fact(key: &str) -> bool {
    key.starts_with("aws:resourcetag/") || key.starts_with("iam:resourcetag/") || key == "iam:permissionsboundary"
}

/// Compiled effective policies by principal, shared by every request of the process.
#[derive(Debug, Default)]
pub struct PolicyCache {
    entries: RwLock<HashMap<String, Arc<Effective>>>,
    /// Bumped by every invalidation; a load records it first and is stored only if it is unchanged.
    generation: AtomicU64,
    /// On PostgreSQL, whether invalidations from other processes are being received.
    listening: AtomicBool,
    /// Whether other processes may write (PostgreSQL): entries are then confirmed per request.
    shared_database: bool,
    /// How many times effective policies were loaded from the store.
    loads: AtomicU64,
    /// Compiled customer managed policy versions by `POLICY_ID@version`: a version's document never
    /// changes, so these need no invalidation, only a bound on their number. Keyed by the policy's
    /// id, not its ARN: a policy deleted and created again under the same name is a new policy
    /// (a new id, as in AWS) whose `v1` is another document.
    versions: RwLock<HashMap<String, Arc<CompiledPolicy>>>,
}

const MAX_CACHED_VERSIONS: usize = 20_000;

impl PolicyCache {
    pub fn new(shared_database: bool) -> PolicyCache {
        PolicyCache { shared_database, ..PolicyCache::default() }
    }

    fn get(&self, key: &str) -> Option<Arc<Effective>> {
        self.entries.read().ok()?.get(key).cloned()
    }

    fn store(&self, key: String, generation: u64, effective: Arc<Effective>) {
        if let Ok(mut entries) = self.entries.write() {
            // Checked under the lock that invalidations also take, so none can slip in between.
            if self.generation.load(Ordering::Acquire) == generation {
                entries.insert(key, effective);
            }
        }
    }

    /// Forgets every cached principal of `account_id`.
    pub fn invalidate(&self, account_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.retain(|_, e| e.account_id != account_id);
        }
    }

    /// Forgets everything (a lost PostgreSQL connection may have lost invalidations).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }

    /// How many principals are cached.
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether invalidations from other processes are being received (PostgreSQL).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// How many times effective policies were loaded from the store (each a cache miss).
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        self.clear();
    }

    fn compiled_version(
        &self,
        (policy_id, version): (&str, &str),
        arn: &str,
        document: &str,
    ) -> Result<Arc<CompiledPolicy>, IamError> {
        let key = format!("{policy_id}@{version}");
        if let Some(found) = self.versions.read().ok().and_then(|v| v.get(&key).cloned()) {
            return Ok(found);
        }
        let compiled = Arc::new(compile_stored(document, arn)?);
        if let Ok(mut versions) = self.versions.write() {
            if versions.len() >= MAX_CACHED_VERSIONS {
                versions.clear();
            }
            versions.insert(key, compiled.clone());
        }
        Ok(compiled)
    }
}

/// Compiles a document read back from the store, where only valid documents are written.
fn compile_stored(document: &str, name: &str) -> Result<CompiledPolicy, IamError> {
    let doc = parse_policy(document).map_err(|e| IamError::internal(&format!("stored policy {name}: {e}")))?;
    Ok(compile(&doc, name))
}

/// How explanations and Access Advisor name an inline policy: the entity's ARN, `#`, the name.
/// (Policy names cannot contain `#`.)
pub fn inline_policy_source(entity_arn: &str, policy_name: &str) -> String {
    format!("{entity_arn}#{policy_name}")
}

/// A principal's cache key: the user id (`AIDA...`), or the 12-digit account id for the root user.
fn cache_key(principal: &Principal) -> &str {
    match principal {
        Principal::Root { account_id } => account_id,
        Principal::User { user_id, .. } => user_id,
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl Iam {
    /// Authorizes, and on refusal records the refused attempt before returning `AccessDenied`.
    pub(crate) async fn authorize_or_record(
        &self,
        caller: &Caller,
        request: Request<'_>,
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<(), IamError> {
        self.authorize_or_record_using(None, caller, request, parameters).await
    }

    /// As [`Iam::authorize_or_record`], reading (and recording a refusal) through `conn` when
    /// the caller already holds a connection: waiting for a second one while holding one lets a
    /// burst of requests take every connection and wait on each other.
    pub(crate) async fn authorize_or_record_using(
        &self,
        mut conn: Option<&mut AnyConnection>,
        caller: &Caller,
        mut request: Request<'_>,
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<(), IamError> {
        let decided = match self.effective_using(conn.as_deref_mut(), &caller.principal).await {
            Ok(effective) => match self.add_resource_facts(conn.as_deref_mut(), &effective, &mut request).await {
                Ok(()) => self.authorize_with(&effective, caller, &request),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match decided {
            Ok(_) => {
                self.note_read(caller, &request, parameters);
                Ok(())
            }
            Err(error) => Err(self.refuse(conn, caller, &request, parameters, error).await),
        }
    }

    /// Authorizes while holding `tx`, an open transaction, reading whatever authorization needs
    /// through it: asking the pool for a second connection while holding one would let a burst of
    /// concurrent writers take every connection and wait on each other. On refusal, drops the
    /// transaction first (rolling back and releasing the account's lock), records the refusal, and
    /// returns `AccessDenied`.
    pub(crate) async fn authorize_holding(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        caller: &Caller,
        mut request: Request<'_>,
        parameters: impl FnOnce() -> serde_json::Value,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, IamError> {
        let decided = match self.effective_using(Some(&mut tx), &caller.principal).await {
            Ok(effective) => match self.add_resource_facts(Some(&mut tx), &effective, &mut request).await {
                Ok(()) => self.authorize_with(&effective, caller, &request),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match decided {
            Ok(_) => {
                self.note_read(caller, &request, parameters);
                Ok(tx)
            }
            Err(error) => {
                drop(tx);
                Err(self.refuse(None, caller, &request, parameters, error).await)
            }
        }
    }

    /// A read that was allowed goes to the audit log's batch. A change logs itself, with its
    /// outcome, in its own transaction; should it fail after this point (`NoSuchEntity`,
    /// `DeleteConflict`, `LimitExceeded`, ...), its transaction and that row roll back, so it is
    /// noted here for [`Iam::record_failures`] to record with its error code instead.
    fn note_read(&self, caller: &Caller, request: &Request<'_>, parameters: impl FnOnce() -> serde_json::Value) {
        if crate::audit::is_read(request.action) {
            let event = crate::audit::Event {
                action: request.action,
                target: Some(request.resource),
                parameters: parameters(),
                outcome: "Allowed",
            };
            self.read_events().push(caller, self.now(), &event);
        } else {
            crate::audit::note_authorized_change(request.action, request.resource, parameters);
        }
    }

    /// Authorizes many reads by one caller at once, reading its policies once: the console's lists
    /// show a column of one read for each row. Each answer is what [`Iam::authorize_or_record`]
    /// gives for that request alone: an allowed read is noted, a refusal recorded, all the
    /// refusals in one write (a page of refused cells must not cost a write each).
    ///
    /// Whatever can fail (the policies, the targets' facts) is read before anything is noted or
    /// recorded: an error answers the whole batch, and no decision of it is on record.
    pub(crate) async fn authorize_reads(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        mut requests: Vec<(Request<'_>, serde_json::Value)>,
    ) -> Result<Vec<Result<(), IamError>>, IamError> {
        let effective = self.effective_using(Some(&mut *conn), &caller.principal).await?;
        for (request, _) in &mut requests {
            self.add_resource_facts(Some(&mut *conn), &effective, request).await?;
        }
        let mut answers = Vec::with_capacity(requests.len());
        let mut refusals = Vec::new();
        for (request, parameters) in &requests {
            match self.authorize_with(&effective, caller, request) {
                Ok(_) => {
                    self.note_read(caller, request, || parameters.clone());
                    answers.push(Ok(()));
                }
                Err(error) => {
                    refusals.push(crate::audit::Event {
                        action: request.action,
                        target: Some(request.resource),
                        parameters: parameters.clone(),
                        outcome: error.code(),
                    });
                    answers.push(Err(error));
                }
            }
        }
        if !refusals.is_empty() {
            let at = self.now();
            let write = async {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for event in &refusals {
                    crate::audit::append(&mut tx, caller, at, event).await?;
                }
                tx.commit().await?;
                Ok::<(), IamError>(())
            };
            if let Err(e) = write.await {
                tracing::error!(error = %e, refusals = refusals.len(), "could not record refused reads");
            }
        }
        Ok(answers)
    }

    /// Records a refusal at once, on its own, and hands back the error to answer.
    async fn refuse(
        &self,
        conn: Option<&mut AnyConnection>,
        caller: &Caller,
        request: &Request<'_>,
        parameters: impl FnOnce() -> serde_json::Value,
        error: IamError,
    ) -> IamError {
        let event = crate::audit::Event {
            action: request.action,
            target: Some(request.resource),
            parameters: parameters(),
            outcome: error.code(),
        };
        self.refused(conn, caller, event, error).await
    }

    /// Authorizes `request` for `caller`: `Ok` with the decision when allowed, else AWS's
    /// `AccessDenied`. The decision names the statements that granted it.
    pub async fn authorize(&self, caller: &Caller, request: &Request<'_>) -> Result<Decision, IamError> {
        let effective = self.effective(&caller.principal).await?;
        let mut request = request.clone();
        self.add_resource_facts(None, &effective, &mut request).await?;
        self.authorize_with(&effective, caller, &request)
    }

    /// Adds the keys that come from the target resource, when the caller's policies test any:
    /// see [`resource_facts`]. Keys the request sets itself win (a new boundary being put).
    async fn add_resource_facts(
        &self,
        conn: Option<&mut AnyConnection>,
        effective: &Effective,
        request: &mut Request<'_>,
    ) -> Result<(), IamError> {
        if !effective.reads_resource_facts {
            return Ok(());
        }
        let mut facts = match conn {
            Some(conn) => resource_facts(conn, request).await?,
            None => resource_facts(&mut *self.store().pool().acquire().await?, request).await?,
        };
        if !facts.is_empty() {
            facts.retain(|(key, _)| !request.context.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)));
            facts.append(&mut request.context);
            request.context = facts;
        }
        Ok(())
    }

    /// The decision for a caller whose effective policies are at hand: no I/O. Allowed requests
    /// are noted for Access Advisor.
    pub fn authorize_with(
        &self,
        effective: &Effective,
        caller: &Caller,
        request: &Request<'_>,
    ) -> Result<Decision, IamError> {
        let now = self.now();
        let decision = decide(effective, caller, request, now);
        if !decision.is_allowed() {
            return Err(access_denied(caller, request, &decision));
        }
        let mut granting: Vec<&Arc<str>> = decision.deciding.iter().map(|m| &m.policy).collect();
        granting.dedup_by(|a, b| Arc::ptr_eq(a, b));
        self.access_notes().note(&caller.principal, request.action, &granting, now);
        Ok(decision)
    }

    /// The caller's effective policies if this process has them cached (on PostgreSQL they may
    /// be stale: [`Iam::effective`] confirms them).
    pub fn cached_effective(&self, principal: &Principal) -> Option<Arc<Effective>> {
        self.policy_cache().get(cache_key(principal))
    }

    /// The caller's effective policies: from the cache when current, else loaded and compiled.
    pub async fn effective(&self, principal: &Principal) -> Result<Arc<Effective>, IamError> {
        self.effective_using(None, principal).await
    }

    /// As [`Iam::effective`], reading through `conn` when given (an open transaction), else
    /// through a connection from the pool.
    pub(crate) async fn effective_using(
        &self,
        mut conn: Option<&mut AnyConnection>,
        principal: &Principal,
    ) -> Result<Arc<Effective>, IamError> {
        let cache = self.policy_cache();
        let key = cache_key(principal);
        if let Some(found) = cache.get(key)
            && (!cache.shared_database
                || self.authz_revision(conn.as_deref_mut(), &found.account_id).await? == found.revision)
        {
            return Ok(found);
        }
        let generation = cache.generation.load(Ordering::Acquire);
        let effective = match conn {
            Some(conn) => Arc::new(load_effective(conn, cache, principal).await?),
            None => {
                let mut pooled = self.store().pool().acquire().await?;
                Arc::new(load_effective(&mut pooled, cache, principal).await?)
            }
        };
        cache.loads.fetch_add(1, Ordering::Relaxed);
        cache.store(key.to_owned(), generation, effective.clone());
        Ok(effective)
    }

    async fn authz_revision(&self, conn: Option<&mut AnyConnection>, account_id: &str) -> Result<i64, IamError> {
        let query = sqlx::query("SELECT authz_revision FROM accounts WHERE account_id = $1").bind(account_id);
        let row = match conn {
            Some(conn) => query.fetch_optional(conn).await?,
            None => query.fetch_optional(self.store().pool()).await?,
        };
        // A missing account has no current entry: -1 never matches a stored revision.
        Ok(row.map(|r| r.try_get::<i64, _>("authz_revision")).transpose()?.unwrap_or(-1))
    }

    /// Commits a write that changes what principals of `account_id` may do, invalidating the
    /// cached policies here (before and after the commit) and in every other process (PostgreSQL
    /// delivers the `NOTIFY` when the transaction commits).
    pub(crate) async fn commit_permissions(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        account_id: &str,
    ) -> Result<(), IamError> {
        sqlx::query("UPDATE accounts SET authz_revision = authz_revision + 1 WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        if self.store().backend() == crate::Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(INVALIDATION_CHANNEL)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        }
        self.policy_cache().invalidate(account_id);
        tx.commit().await?;
        self.policy_cache().invalidate(account_id);
        Ok(())
    }
}

/// Decides a request against a principal's effective policies, adding the caller's session keys.
pub fn decide(effective: &Effective, caller: &Caller, request: &Request<'_>, now: Timestamp) -> Decision {
    let keys = session_keys();
    let mut context = Context::over(effective.keys.clone());
    let (iso, epoch) = time_texts(now);
    context.insert_key(&keys.current_time, iso);
    context.insert_key(&keys.epoch_time, epoch);
    context.insert_key(&keys.secure_transport, bool_text(caller.secure_transport));
    if let Some(ip) = caller.source_ip {
        context.insert_key(&keys.source_ip, ip.to_string());
    }
    if let Some(agent) = &caller.user_agent {
        context.insert_key(&keys.user_agent, agent.clone());
    }
    context.insert_key(&keys.resource_account, request.resource_account);
    if let Some(issued) = caller.session_issued_at {
        context.insert_key(&keys.token_issue_time, issued.to_iso8601());
    }
    // AWS leaves MFA keys out for long-term access keys, and says false for sessions without MFA.
    match (&caller.channel, caller.mfa_authenticated_at) {
        (_, Some(at)) => {
            context.insert_key(&keys.mfa_present, "true");
            let age = (now.as_millis() - at.as_millis()).max(0) / 1000;
            context.insert_key(&keys.mfa_age, age.to_string());
        }
        (Channel::AccessKey { .. }, None) => {}
        (_, None) => {
            context.insert_key(&keys.mfa_present, "false");
        }
    }
    for (key, values) in &request.context {
        context.set_all(key, values.clone());
    }
    let policy_request = iam_policy::Request {
        principal: &effective.principal,
        action: request.action,
        resource: request.resource,
        resource_account: Some(request.resource_account),
        context: &context,
    };
    match &request.setting_grant {
        None => iam_policy::evaluate(&policy_request, &effective.policies),
        Some(grant) => {
            let mut policies = effective.policies.clone();
            policies.identity.push(grant.clone());
            iam_policy::evaluate(&policy_request, &policies)
        }
    }
}

/// The keys every request adds, named once.
struct SessionKeys {
    current_time: KeyName,
    epoch_time: KeyName,
    secure_transport: KeyName,
    source_ip: KeyName,
    user_agent: KeyName,
    resource_account: KeyName,
    token_issue_time: KeyName,
    mfa_present: KeyName,
    mfa_age: KeyName,
}

fn session_keys() -> &'static SessionKeys {
    static KEYS: OnceLock<SessionKeys> = OnceLock::new();
    KEYS.get_or_init(|| SessionKeys {
        current_time: KeyName::new("aws:CurrentTime"),
        epoch_time: KeyName::new("aws:EpochTime"),
        secure_transport: KeyName::new("aws:SecureTransport"),
        source_ip: KeyName::new("aws:SourceIp"),
        user_agent: KeyName::new("aws:UserAgent"),
        resource_account: KeyName::new("aws:ResourceAccount"),
        token_issue_time: KeyName::new("aws:TokenIssueTime"),
        mfa_present: KeyName::new("aws:MultiFactorAuthPresent"),
        mfa_age: KeyName::new("aws:MultiFactorAuthAge"),
    })
}

/// `aws:CurrentTime` and `aws:EpochTime` for `now`, formatted once per second per thread.
fn time_texts(now: Timestamp) -> (String, String) {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String, String)> = const { std::cell::RefCell::new((i64::MIN, String::new(), String::new())) };
    }
    let second = now.as_millis().div_euclid(1000);
    LAST.with_borrow_mut(|(at, iso, epoch)| {
        if *at != second {
            *at = second;
            *iso = now.to_iso8601();
            *epoch = second.to_string();
        }
        (iso.clone(), epoch.clone())
    })
}

/// AWS's `AccessDenied` message, with the reason AWS gives since 2021.
fn access_denied(caller: &Caller, request: &Request<'_>, decision: &Decision) -> IamError {
    let head = format!(
        "{}: {} is not authorized to perform: {} on resource: {}",
        caller.principal.kind_label(),
        caller.principal.arn(),
        request.action,
        request.resource
    );
    let reason = match (decision.outcome, decision.denied_by) {
        (Outcome::ExplicitDeny, _) => {
            let kind = match decision.deciding.first().map(|m| m.source) {
                Some(PolicySource::PermissionsBoundary) => "a permissions boundary",
                Some(PolicySource::Session) => "a session policy",
                Some(PolicySource::Guardrail) => "a service control policy",
                Some(PolicySource::Resource) => "a resource-based policy",
                _ => "an identity-based policy",
            };
            format!(" with an explicit deny in {kind}")
        }
        (_, Some(DenyStep::PermissionsBoundary)) => {
            format!(" because no permissions boundary allows the {} action", request.action)
        }
        (_, Some(DenyStep::SessionPolicy)) => {
            format!(" because no session policy allows the {} action", request.action)
        }
        (_, Some(DenyStep::Guardrail)) => {
            format!(" because no service control policy allows the {} action", request.action)
        }
        (_, Some(DenyStep::NoIdentityAllow)) if matches!(caller.principal, Principal::User { .. }) => {
            format!(" because no identity-based policy allows the {} action", request.action)
        }
        _ => String::new(),
    };
    IamError::AccessDenied(format!("{head}{reason}"))
}

/// Reads and compiles a principal's effective policies and own keys.
async fn load_effective(
    conn: &mut AnyConnection,
    cache: &PolicyCache,
    principal: &Principal,
) -> Result<Effective, IamError> {
    // First, so that a write committing during the load leaves this entry stale, never current.
    let revision: i64 = sqlx::query("SELECT authz_revision FROM accounts WHERE account_id = $1")
        .bind(principal.account_id())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("authz_revision"))
        .transpose()?
        .unwrap_or(-1);
    // A user is read as it is now (a session keeps the name it began with; the user may have been
    // renamed or moved since, and its ARN with it).
    let user = match principal {
        Principal::User { user_id, .. } => {
            sqlx::query("SELECT user_name, path, permissions_boundary_arn FROM users WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?
        }
        Principal::Root { .. } => None,
    };
    let arn = match (principal, &user) {
        (Principal::User { account_id, .. }, Some(row)) => crate::entities::entity_arn(
            account_id,
            crate::entities::EntityKind::User,
            &row.try_get::<String, _>("path")?,
            &row.try_get::<String, _>("user_name")?,
        ),
        _ => principal.arn().to_string(),
    };
    let mut keys = Context::new();
    keys.insert("aws:PrincipalArn", arn.clone());
    keys.insert("aws:PrincipalAccount", principal.account_id());
    keys.insert("aws:userid", principal.user_id());
    // IAM is a global service, answered in us-east-1.
    keys.insert("aws:RequestedRegion", "us-east-1");
    // Keys AWS documents as present in every request: nobody calls Portcullis as an AWS service
    // or through one, so both are false (AWS's "deny outside these networks unless via an AWS
    // service" policies test them with Bool and would never deny if they were absent).
    keys.insert("aws:PrincipalIsAWSService", "false");
    keys.insert("aws:ViaAWSService", "false");
    let request_principal =
        RequestPrincipal::from_arn(&arn).ok_or_else(|| IamError::internal(&format!("unreadable principal {arn}")))?;
    let (user_id, account_id) = match principal {
        Principal::Root { account_id } => {
            keys.insert("aws:PrincipalType", "Account");
            let effective = Effective {
                account_id: account_id.clone(),
                revision,
                principal: request_principal,
                policies: PolicySet::default(),
                keys: Arc::new(keys),
                reads_resource_facts: false,
            };
            return Ok(effective);
        }
        Principal::User { user_id, account_id, user_name, .. } => {
            keys.insert("aws:PrincipalType", "User");
            let current: Option<String> = user.as_ref().map(|r| r.try_get("user_name")).transpose()?;
            keys.insert("aws:username", current.unwrap_or_else(|| user_name.clone()));
            (user_id, account_id)
        }
    };
    debug_assert_eq!(request_principal.kind, PrincipalType::User);
    let mut policies = PolicySet::default();
    // A user deleted while signed in keeps no permissions.
    if let Some(user) = user {
        let boundary: Option<String> = user.try_get("permissions_boundary_arn")?;
        for tag in crate::tagging::load_tags(conn, user_id).await? {
            keys.insert(&format!("aws:PrincipalTag/{}", tag.key), tag.value);
        }
        policies.identity = identity_policies(conn, cache, account_id, user_id).await?;
        if let Some(boundary) = boundary {
            policies.boundary = Some(managed_policy(conn, cache, &boundary).await?);
        }
    }
    let reads_resource_facts = policies
        .identity
        .iter()
        .chain(&policies.boundary)
        .any(|p| p.referenced_keys().iter().any(|k| is_resource_fact(k)));
    Ok(Effective {
        account_id: account_id.clone(),
        revision,
        principal: request_principal,
        policies,
        keys: Arc::new(keys),
        reads_resource_facts,
    })
}

/// The keys AWS supplies from the resource a request acts on, as IAM's Service Authorization
/// Reference lists them for the action: the target's tags as `aws:ResourceTag/KEY` (and
/// `iam:ResourceTag/KEY` for users, roles and policies), and for the actions that carry it, the
/// target's current permissions boundary as `iam:PermissionsBoundary`. Nothing for a target that
/// does not exist (yet), or that is not an IAM user, role, customer managed policy or MFA device.
pub(crate) async fn resource_facts(
    conn: &mut AnyConnection,
    request: &Request<'_>,
) -> Result<Vec<(String, Vec<String>)>, IamError> {
    let Ok(arn) = iam_policy::Arn::parse(request.resource) else { return Ok(Vec::new()) };
    if arn.service != "iam" {
        return Ok(Vec::new());
    }
    let Some((kind, rest)) = arn.resource.split_once('/') else { return Ok(Vec::new()) };
    if request.creating {
        return Ok(Vec::new());
    }
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let found: Option<(String, Option<String>)> = match kind {
        "user" | "role" => {
            let (table, id) = if kind == "user" { ("users", "user_id") } else { ("roles", "role_id") };
            let name_column = if kind == "user" { "user_name" } else { "role_name" };
            let sql = format!(
                "SELECT {id} AS id, {name_column} AS name, path, permissions_boundary_arn FROM {table} \
                 WHERE account_id = $1 AND name_key = $2"
            );
            let row =
                sqlx::query(&sql).bind(&arn.account).bind(name.to_ascii_lowercase()).fetch_optional(&mut *conn).await?;
            match row {
                Some(row) => {
                    let stored =
                        format!("{kind}{}{}", row.try_get::<String, _>("path")?, row.try_get::<String, _>("name")?);
                    // The ARN names this very entity (path and case included), not a namesake.
                    (stored == arn.resource)
                        .then(|| Ok::<_, sqlx::Error>((row.try_get("id")?, row.try_get("permissions_boundary_arn")?)))
                        .transpose()?
                }
                None => None,
            }
        }
        "policy" => sqlx::query("SELECT policy_id FROM managed_policies WHERE arn = $1")
            .bind(request.resource)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("policy_id").map(|id| (id, None)))
            .transpose()?,
        // An ARN names a virtual device only (the only kind with tags); a hardware serial never
        // starts with `arn:`.
        "mfa" => sqlx::query("SELECT serial_number FROM mfa_devices WHERE serial_number = $1 AND kind = 'totp'")
            .bind(request.resource)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("serial_number").map(|id| (id, None)))
            .transpose()?,
        _ => None,
    };
    let Some((id, boundary)) = found else { return Ok(Vec::new()) };
    let reference = crate::service_reference::iam();
    let mut facts = Vec::new();
    let aws_tags = reference.supplies(request.action, Some(kind), "aws:ResourceTag/${TagKey}");
    let iam_tags = reference.supplies(request.action, Some(kind), "iam:ResourceTag/${TagKey}");
    if aws_tags || iam_tags {
        for tag in crate::tagging::load_tags(conn, &id).await? {
            if iam_tags {
                facts.push((format!("iam:ResourceTag/{}", tag.key), vec![tag.value.clone()]));
            }
            if aws_tags {
                facts.push((format!("aws:ResourceTag/{}", tag.key), vec![tag.value]));
            }
        }
    }
    if let Some(boundary) = boundary
        && reference.supplies(request.action, Some(kind), "iam:PermissionsBoundary")
    {
        facts.push(("iam:PermissionsBoundary".to_owned(), vec![boundary]));
    }
    Ok(facts)
}

/// Inline and attached managed policies of a user, group or role (by id), and for a user those of
/// each of its groups.
pub(crate) async fn identity_policies(
    conn: &mut AnyConnection,
    cache: &PolicyCache,
    account_id: &str,
    user_id: &str,
) -> Result<Vec<Arc<CompiledPolicy>>, IamError> {
    let mut out = Vec::new();
    let inline = sqlx::query(
        "SELECT i.policy_name, i.document, i.entity_kind, COALESCE(u.path, g.path, r.path) AS path, \
         COALESCE(u.user_name, g.group_name, r.role_name) AS entity_name \
         FROM inline_policies i \
         LEFT JOIN users u ON u.user_id = i.entity_id \
         LEFT JOIN iam_groups g ON g.group_id = i.entity_id \
         LEFT JOIN roles r ON r.role_id = i.entity_id \
         WHERE i.entity_id = $1 OR i.entity_id IN (SELECT group_id FROM group_members WHERE user_id = $1) \
         ORDER BY i.entity_kind DESC, i.name_key",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &inline {
        let kind: String = row.try_get("entity_kind")?;
        let path: String = row.try_get("path")?;
        let entity: String = row.try_get("entity_name")?;
        let name: String = row.try_get("policy_name")?;
        let entity_arn = iam_policy::Arn::iam(account_id, format!("{kind}{path}{entity}")).to_string();
        let document: String = row.try_get("document")?;
        out.push(Arc::new(compile_stored(&document, &inline_policy_source(&entity_arn, &name))?));
    }
    let attached = sqlx::query(
        "SELECT DISTINCT policy_arn FROM policy_attachments \
         WHERE entity_id = $1 OR entity_id IN (SELECT group_id FROM group_members WHERE user_id = $1) \
         ORDER BY policy_arn",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &attached {
        let arn: String = row.try_get("policy_arn")?;
        out.push(managed_policy(conn, cache, &arn).await?);
    }
    Ok(out)
}

/// A managed policy's default version, compiled: AWS managed from the shipped catalog, customer
/// managed from the store. A policy that no longer exists grants nothing.
pub(crate) async fn managed_policy(
    conn: &mut AnyConnection,
    cache: &PolicyCache,
    arn: &str,
) -> Result<Arc<CompiledPolicy>, IamError> {
    if aws_managed::is_aws_managed_arn(arn) {
        return Ok(match aws_managed::find(arn) {
            Some(p) => p.compiled.clone(),
            None => Arc::new(CompiledPolicy::empty(arn)),
        });
    }
    let row = sqlx::query(
        "SELECT m.policy_id, m.default_version, v.document FROM managed_policies m \
         JOIN policy_versions v ON v.policy_id = m.policy_id AND v.version_id = m.default_version \
         WHERE m.arn = $1",
    )
    .bind(arn)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => {
            let policy_id: String = row.try_get("policy_id")?;
            let version: String = row.try_get("default_version")?;
            let document: String = row.try_get("document")?;
            cache.compiled_version((&policy_id, &version), arn, &document)
        }
        None => Ok(Arc::new(CompiledPolicy::empty(arn))),
    }
}

/// Keeps the cache honest across server processes on PostgreSQL: listens for invalidations and
/// empties the cache whenever the connection is lost (invalidations may have been missed then).
/// Runs until the `Iam` it serves is dropped.
pub(crate) async fn listen_for_invalidations(iam: Weak<crate::Inner>, url: String) {
    use sqlx::postgres::PgListener;
    let mut failures = 0u32;
    loop {
        let Some(cache) = iam.upgrade().map(|i| i.policy_cache.clone()) else { return };
        cache.set_listening(false);
        let listener = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(INVALIDATION_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(l) => l,
            Err(e) => {
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_multiple_of(60) {
                    tracing::warn!(error = %e, "cannot listen for policy invalidations; the policy cache is off");
                }
                drop(cache);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        failures = 0;
        cache.set_listening(true);
        drop(cache);
        // `Ok(None)` or an error: the connection was lost, and whatever was sent meanwhile is gone.
        while let Ok(Some(note)) = listener.try_recv().await {
            match iam.upgrade() {
                Some(inner) => inner.policy_cache.invalidate(note.payload()),
                None => return,
            }
        }
        tracing::warn!("lost the policy invalidation connection; emptied the policy cache and reconnecting");
    }
}
