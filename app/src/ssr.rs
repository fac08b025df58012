//! Server-side helpers of the server functions: the shared state, the session, and the `Caller`
//! every iam-core action takes. Authentication lives here; authorization never does (iam-core's
//! actions decide).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ConnectInfo;
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

/// What a signed-in console session holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub principal: Principal,
    /// A random name for this sign-in, written to audit events instead of the cookie.
    pub session_ref: String,
    pub signed_in_at: i64,
}

pub const SESSION_KEY: &str = "console";

/// The longest a console session lives after sign-in.
pub const SESSION_MAX_AGE_MS: i64 = 12 * 60 * 60 * 1000;

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
    /// facts. A session whose user has since been deleted (or lost its console password) ends here.
    pub async fn caller(&self) -> Result<Caller, ConsoleError> {
        let session = self.session()?;
        let Some(signed_in) = console_session(session).await? else {
            return Err(ConsoleError::not_signed_in());
        };
        // Console sessions end 12 hours after sign-in, however active (AWS's longest console session).
        if now_millis(&self.state).saturating_sub(signed_in.signed_in_at) > SESSION_MAX_AGE_MS {
            session.flush().await.ok();
            return Err(ConsoleError::not_signed_in());
        }
        let Some(principal) = self.state.iam.current_principal(&signed_in.principal).await? else {
            session.flush().await.ok();
            return Err(ConsoleError::not_signed_in());
        };
        Ok(Caller {
            principal,
            channel: Channel::Console { session_ref: signed_in.session_ref },
            source_ip: self.client.address,
            secure_transport: self.state.public_origin.starts_with("https://"),
            mfa_authenticated_at: None,
            session_issued_at: Some(iam_core::Timestamp::from_millis(signed_in.signed_in_at)),
            request_id: self.request_id.clone(),
            client_request_id: self.client.client_request_id.clone(),
            user_agent: self.client.user_agent.clone(),
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

/// A new random session reference for the audit log.
pub fn session_ref() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn now_millis(state: &ConsoleState) -> i64 {
    let now: Timestamp = state.iam.now();
    now.as_millis()
}
