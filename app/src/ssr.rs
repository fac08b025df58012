//! Server-side helpers of the server functions: the shared state, the session, and the `Caller`
//! every iam-core action takes. Authentication lives here; authorization never does (iam-core's
//! actions decide).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::ConnectInfo;
use iam_core::console_sessions::SessionLimits;
use iam_core::sign_in::SignInContext;
use iam_core::{Caller, Channel, Iam, Principal, Timestamp};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;
use tower_sessions::Session;

use crate::error::ConsoleError;

/// What the console's server functions share, provided as context by the server.
#[derive(Clone)]
pub struct ConsoleState {
    pub iam: Iam,
    pub setup: SetupGate,
    /// Where the console is reached, for example `https://iam.example.com`.
    pub public_origin: String,
    /// Idle and absolute timeouts of console sessions.
    pub limits: SessionLimits,
    /// Sign-in attempts per client (address, or /64 for IPv6).
    pub sign_in_limiter: Arc<ClientLimiter>,
    /// The WebAuthn relying party (the public origin's host); none when that host is an IP
    /// address, which WebAuthn refuses.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

/// A token bucket per client for the sign-in steps (governor's GCRA): a burst, then one attempt
/// per period. Together with iam-core's growing delays per principal, it slows down password
/// spraying across many users from one client. Memory is bounded by `prune`, which the server
/// calls every minute: clients whose bucket has refilled are forgotten.
pub struct ClientLimiter {
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    clock: governor::clock::DefaultClock,
}

impl ClientLimiter {
    /// `per_minute` attempts a minute, in a burst of as many.
    pub fn per_minute(per_minute: u32) -> ClientLimiter {
        let n = std::num::NonZeroU32::new(per_minute.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        ClientLimiter {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(n)),
            clock: governor::clock::DefaultClock::default(),
        }
    }

    /// Takes one attempt from the client's bucket, or answers how many seconds until the next.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), u64> {
        use governor::clock::Clock as _;
        // Without an address (a test router), all such clients share one bucket.
        let key = client.map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), bucket_key);
        self.limiter.check_key(&key).map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs() + 1)
    }

    /// Forgets clients whose bucket is full again.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub fn clients(&self) -> usize {
        self.limiter.len()
    }
}

/// One bucket per IPv4 address, and per /64 for IPv6 (one host is given a whole /64).
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
    }
}

/// The one-time setup token printed on first start. It opens the setup page until the first
/// account exists; then it is forgotten.
#[derive(Clone, Default)]
pub struct SetupGate(Arc<Mutex<Option<String>>>);

impl SetupGate {
    pub fn with_token(token: String) -> SetupGate {
        SetupGate(Arc::new(Mutex::new(Some(token))))
    }

    pub fn accepts(&self, offered: &str) -> bool {
        match self.0.lock() {
            Ok(guard) => guard.as_deref().is_some_and(|t| bool::from(t.as_bytes().ct_eq(offered.as_bytes()))),
            Err(_) => false,
        }
    }

    pub fn close(&self) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = None;
        }
    }
}

/// What a signed-in console session holds. The session's record in the database (named by
/// `session_ref`) is what keeps it alive: it is confirmed on every request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub principal: Principal,
    /// The session's record in iam-core, also written to audit events instead of the cookie.
    pub session_ref: String,
    pub signed_in_at: i64,
    /// When the password expires, for the console's warning.
    #[serde(default)]
    pub password_expires_at: Option<i64>,
}

pub const SESSION_KEY: &str = "console";

/// A sign-in between its steps: the password was right, and an MFA step or a new password is
/// still owed. It grants nothing but the next step, and lasts [`PENDING_MAX_AGE_MS`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub principal: Principal,
    pub stage: PendingStage,
    pub started_at: i64,
    /// The MFA device that answered, once one has.
    pub mfa_device: Option<String>,
    /// The password step's findings.
    pub must_change_password: bool,
    pub password_expired: bool,
    pub password_expires_at: Option<i64>,
    pub return_to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingStage {
    Mfa,
    ChangePassword,
}

impl PendingStage {
    /// The page of this step.
    pub fn path(self) -> &'static str {
        match self {
            PendingStage::Mfa => "/signin/mfa",
            PendingStage::ChangePassword => "/signin/change-password",
        }
    }
}

pub const PENDING_KEY: &str = "pending";

/// How long the steps after the password may take.
pub const PENDING_MAX_AGE_MS: i64 = 10 * 60 * 1000;

pub fn state() -> Result<ConsoleState, ConsoleError> {
    use_context::<ConsoleState>().ok_or_else(|| internal("console state is not provided"))
}

pub fn internal(what: &str) -> ConsoleError {
    let e = iam_core::IamError::internal(&what);
    e.into()
}

/// Everything a server function needs from its request, read at once before its first `.await`.
///
/// Leptos provides the request through the reactive context, which a server function called
/// during server-side rendering may no longer see after it has awaited something (seen here: a
/// user list rendered with a missing context, then a dead page after hydration). So each server
/// function captures its scope first, synchronously, and uses only that afterwards.
#[derive(Clone)]
pub struct RequestScope {
    pub state: ConsoleState,
    session: Option<Session>,
    client: ClientFacts,
    request_id: Option<String>,
    parts: Option<http::request::Parts>,
    response: Option<leptos_axum::ResponseOptions>,
}

/// What the server's first middleware learned of the client (the `server` crate's `client`
/// module): its address behind trusted proxies, its user agent, the request id it asked for.
#[derive(Debug, Clone, Default)]
pub struct ClientFacts {
    pub address: Option<std::net::IpAddr>,
    pub client_request_id: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestScope {
    pub fn capture() -> Result<RequestScope, ConsoleError> {
        let state = state()?;
        let parts = use_context::<http::request::Parts>();
        let session = parts.as_ref().and_then(|p| p.extensions.get::<Session>().cloned());
        let client = parts.as_ref().and_then(|p| p.extensions.get::<ClientFacts>()).cloned().unwrap_or_else(|| {
            // Without the server's middleware (a test router), the TCP peer is all there is.
            let peer = parts.as_ref().and_then(|p| p.extensions.get::<ConnectInfo<SocketAddr>>());
            ClientFacts { address: peer.map(|ConnectInfo(a)| a.ip()), ..ClientFacts::default() }
        });
        // Set by the server (the client's own `x-request-id` was moved aside before it).
        let request_id =
            parts.as_ref().and_then(|p| p.headers.get("x-request-id")).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let response = use_context::<leptos_axum::ResponseOptions>();
        Ok(RequestScope { state, session, client, request_id, parts, response })
    }

    pub fn session(&self) -> Result<&Session, ConsoleError> {
        self.session.as_ref().ok_or_else(|| internal("no session layer"))
    }

    /// The caller of this request: the signed-in principal as it stands now, with the request's
    /// facts. A session past its timeouts, ended elsewhere, or whose user has since been deleted
    /// (or lost its console password) ends here.
    pub async fn caller(&self) -> Result<Caller, ConsoleError> {
        let session = self.session()?;
        let Some(signed_in) = console_session(session).await? else {
            return Err(ConsoleError::not_signed_in());
        };
        let live = self.state.iam.touch_console_session(&signed_in.session_ref, self.state.limits).await?;
        let principal = match live {
            Some(_) => self.state.iam.current_principal(&signed_in.principal).await?,
            None => None,
        };
        let (Some(live), Some(principal)) = (live, principal) else {
            session.flush().await.ok();
            return Err(ConsoleError::not_signed_in());
        };
        Ok(Caller {
            principal,
            channel: Channel::Console { session_ref: signed_in.session_ref },
            source_ip: self.client.address,
            secure_transport: self.secure(),
            mfa_authenticated_at: live.mfa_at,
            session_issued_at: Some(live.created_at),
            request_id: self.request_id.clone(),
            client_request_id: self.client.client_request_id.clone(),
            user_agent: self.client.user_agent.clone(),
        })
    }

    fn secure(&self) -> bool {
        self.state.public_origin.starts_with("https://")
    }

    /// What the sign-in steps record of this client.
    pub fn sign_in_context(&self) -> SignInContext {
        SignInContext {
            source_ip: self.client.address,
            user_agent: self.client.user_agent.clone(),
            request_id: self.request_id.clone(),
            client_request_id: self.client.client_request_id.clone(),
            secure_transport: self.secure(),
            device: self.device_cookie(),
        }
    }

    fn device_cookie_name(&self) -> &'static str {
        if self.secure() { "__Host-portcullis-device" } else { "portcullis-device" }
    }

    /// The device cookie this browser sent, if any.
    fn device_cookie(&self) -> Option<String> {
        let name = self.device_cookie_name();
        let parts = self.parts.as_ref()?;
        parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.to_owned())
    }

    /// Takes one sign-in attempt from this client's bucket; a client out of attempts gets HTTP
    /// 429 with `Retry-After`, and the console says when to try again.
    pub fn limit_attempts(&self) -> Result<(), ConsoleError> {
        self.state.sign_in_limiter.check(self.client.address).map_err(|seconds| self.throttled(seconds))
    }

    /// The answer to a throttled attempt: HTTP 429, `Retry-After`, and the words for the page.
    pub fn throttled(&self, seconds: u64) -> ConsoleError {
        if let Some(response) = &self.response {
            response.set_status(http::StatusCode::TOO_MANY_REQUESTS);
            if let Ok(value) = http::HeaderValue::from_str(&seconds.to_string()) {
                response.insert_header(http::header::RETRY_AFTER, value);
            }
        }
        ConsoleError::new(
            "Throttling",
            format!("Too many sign-in attempts. Try again in {seconds} second{}.", if seconds == 1 { "" } else { "s" }),
        )
    }

    /// The sign-in in progress in this session, if one is and it is still fresh.
    pub async fn pending(&self) -> Result<Option<PendingSignIn>, ConsoleError> {
        let session = self.session()?;
        let pending =
            session.get::<PendingSignIn>(PENDING_KEY).await.map_err(|e| internal(&format!("session store: {e}")))?;
        let Some(pending) =
            pending.filter(|p| now_millis(&self.state).saturating_sub(p.started_at) <= PENDING_MAX_AGE_MS)
        else {
            return Ok(None);
        };
        // A password set since the password step (an administrator's reset of a compromised
        // account, say), or a console password removed since, ends the sign-in in progress.
        let changed = self.state.iam.password_changed_at(&pending.principal).await?;
        let current = self.state.iam.current_principal(&pending.principal).await?;
        if current.is_none() || changed.is_none_or(|at| at.as_millis() > pending.started_at) {
            self.session()?.remove_value(PENDING_KEY).await.map_err(|e| internal(&format!("session: {e}")))?;
            return Ok(None);
        }
        Ok(Some(pending))
    }

    /// Moves the sign-in to its next step: a new session id (the privilege changed), the pending
    /// state saved.
    pub async fn continue_sign_in(&self, pending: &PendingSignIn) -> Result<(), ConsoleError> {
        let session = self.session()?;
        session.cycle_id().await.map_err(|e| internal(&format!("session: {e}")))?;
        session.insert(PENDING_KEY, pending).await.map_err(|e| internal(&format!("session: {e}")))?;
        Ok(())
    }

    /// Completes a sign-in: records the console session, gives the browser a new session id, and
    /// sends it where it was going.
    pub async fn establish(
        &self,
        principal: Principal,
        mfa_device: Option<&str>,
        password_expires_at: Option<i64>,
        return_to: &str,
    ) -> Result<(), ConsoleError> {
        let session = self.session()?;
        let (session_ref, created) =
            self.state.iam.open_console_session(&principal, &self.sign_in_context(), mfa_device).await?;
        // A new id at every privilege change, so that an id planted before it is worthless after.
        session.cycle_id().await.map_err(|e| internal(&format!("session: {e}")))?;
        session.remove_value(PENDING_KEY).await.map_err(|e| internal(&format!("session: {e}")))?;
        let record = ConsoleSession { principal, session_ref, signed_in_at: created.as_millis(), password_expires_at };
        // The cookie and the stored record last no longer than the session may.
        let ends = created.as_millis().saturating_add(self.state.limits.absolute_ms);
        if let Ok(at) =
            tower_sessions::cookie::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ends) * 1_000_000)
        {
            session.set_expiry(Some(tower_sessions::Expiry::AtDateTime(at)));
        }
        session.insert(SESSION_KEY, &record).await.map_err(|e| internal(&format!("session: {e}")))?;
        // This browser is now known to the principal: its failed attempts will be counted apart
        // from strangers' (iam-core's device cookies).
        let cookie = format!(
            "{}={}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{}",
            self.device_cookie_name(),
            self.state.iam.device_cookie(&record.principal),
            iam_core::sign_in::DEVICE_COOKIE_MAX_AGE_MS / 1000,
            if self.secure() { "; Secure" } else { "" }
        );
        if let (Some(response), Ok(value)) = (&self.response, http::HeaderValue::from_str(&cookie)) {
            response.append_header(http::header::SET_COOKIE, value);
        }
        tracing::info!(principal = %record.principal.arn(), session = %record.session_ref, "console sign-in");
        self.redirect(crate::api::safe_return_path(return_to).unwrap_or("/"));
        Ok(())
    }

    /// The WebAuthn relying party, or the words for why there is none.
    pub fn webauthn(&self) -> Result<&webauthn_rs::Webauthn, ConsoleError> {
        self.state.webauthn.as_deref().ok_or_else(|| {
            ConsoleError::new(
                "WebAuthnUnavailable",
                "Security keys need the console to be reached by a host name: ask the operator to set --public-origin.",
            )
        })
    }

    /// Ends whatever this browser's session holds: a console session (its record too) or a sign-in
    /// in progress.
    pub async fn sign_out_quietly(&self) -> Result<(), ConsoleError> {
        let session = self.session()?;
        if let Some(signed_in) = console_session(session).await? {
            self.state.iam.end_console_session(&signed_in.session_ref).await?;
            tracing::info!(session = %signed_in.session_ref, "console sign-out");
        }
        session.remove_value(SESSION_KEY).await.map_err(|e| internal(&format!("session: {e}")))?;
        session.remove_value(PENDING_KEY).await.map_err(|e| internal(&format!("session: {e}")))?;
        Ok(())
    }

    /// A caller for the steps of a pending sign-in (setting a new password): the principal, with
    /// the MFA it has passed, in no session yet.
    pub fn pending_caller(&self, pending: &PendingSignIn) -> Caller {
        let now = self.state.iam.now();
        Caller {
            principal: pending.principal.clone(),
            channel: Channel::Console { session_ref: "sign-in".to_owned() },
            source_ip: self.client.address,
            secure_transport: self.secure(),
            mfa_authenticated_at: pending.mfa_device.as_ref().map(|_| now),
            session_issued_at: Some(now),
            request_id: self.request_id.clone(),
            client_request_id: self.client.client_request_id.clone(),
            user_agent: self.client.user_agent.clone(),
        }
    }

    /// Redirects to `path` after a change, saying what was `done` and when: the page shows a notice
    /// and reloads its data (`at` differs each time, so the same change twice reloads twice).
    pub fn redirect_done(&self, path: &str, done: &str) {
        let at = now_millis(&self.state);
        let sep = if path.contains('?') { '&' } else { '?' };
        self.redirect(&format!("{path}{sep}done={done}&at={at}"));
    }

    /// Whether the request is the browser's own form post (the page not yet hydrated, or no
    /// JavaScript), not the console's fetch: its answer's body is never shown, only a redirect.
    pub fn plain_form_post(&self) -> bool {
        self.parts.as_ref().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// Redirects after the server function, as `leptos_axum::redirect` does, but from the
    /// captured request: a 302 for a plain form post, the server-function redirect header for the
    /// hydrated client.
    pub fn redirect(&self, path: &str) {
        let (Some(parts), Some(response)) = (&self.parts, &self.response) else {
            tracing::warn!("no response to redirect");
            return;
        };
        let Ok(location) = http::HeaderValue::from_str(path) else {
            return;
        };
        response.insert_header(http::header::LOCATION, location);
        let accepts_html = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if accepts_html {
            response.set_status(http::StatusCode::FOUND);
        } else {
            response.insert_header(
                http::HeaderName::from_static(leptos::server_fn::redirect::REDIRECT_HEADER),
                http::HeaderValue::from_static(""),
            );
        }
    }
}

pub async fn console_session(session: &Session) -> Result<Option<ConsoleSession>, ConsoleError> {
    session.get::<ConsoleSession>(SESSION_KEY).await.map_err(|e| internal(&format!("session store: {e}")))
}

pub fn now_millis(state: &ConsoleState) -> i64 {
    let now: Timestamp = state.iam.now();
    now.as_millis()
}
