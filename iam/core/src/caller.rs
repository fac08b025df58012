//! Who is asking, and the facts of their session: what every IAM action authorizes.

use std::net::IpAddr;

use iam_policy::Arn;

use crate::clock::Timestamp;

/// An authenticated principal of an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Principal {
    /// The account's root user.
    Root { account_id: String },
    /// An IAM user, named as it was when the session began.
    User { account_id: String, user_id: String, user_name: String, path: String },
}

impl Principal {
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Root { account_id } | Principal::User { account_id, .. } => account_id,
        }
    }

    pub fn arn(&self) -> Arn {
        match self {
            Principal::Root { account_id } => Arn::iam(account_id, "root"),
            Principal::User { account_id, user_name, path, .. } => {
                Arn::iam(account_id, format!("user{path}{user_name}"))
            }
        }
    }

    /// The AWS "unique id" of the principal (`aws:userid`): the account id for root.
    pub fn user_id(&self) -> &str {
        match self {
            Principal::Root { account_id } => account_id,
            Principal::User { user_id, .. } => user_id,
        }
    }

    /// How AWS names the principal in an `AccessDenied` message.
    pub fn kind_label(&self) -> &'static str {
        "User"
    }
}

/// How the request reached us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// A console session, named by a random reference stored in the session (never its cookie).
    Console { session_ref: String },
    /// A request signed with an access key.
    AccessKey { access_key_id: String },
    /// The server itself, for example the `bootstrap` command.
    Internal,
}

/// The caller of an IAM action: the principal and the facts of this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub channel: Channel,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    /// When the session passed MFA, if it did.
    pub mfa_authenticated_at: Option<Timestamp>,
    /// When the session's credentials were issued, for a session (a console sign-in, as AWS's
    /// console holds temporary credentials): `aws:TokenIssueTime`. `None` for long-term keys.
    pub session_issued_at: Option<Timestamp>,
    /// The request id the server gave this request, carried into audit events.
    pub request_id: Option<String>,
    /// The id the client said it gave the request (`x-request-id`), bounded and checked by the
    /// server; kept apart from `request_id`, which only the server sets.
    pub client_request_id: Option<String>,
    /// The client's `User-Agent` (`aws:UserAgent`), at most 256 characters.
    pub user_agent: Option<String>,
}

impl Caller {
    pub fn account_id(&self) -> &str {
        self.principal.account_id()
    }

    /// A caller that is the server itself acting for `principal` (the `bootstrap` command, setup).
    pub fn internal(principal: Principal) -> Caller {
        Caller {
            principal,
            channel: Channel::Internal,
            source_ip: None,
            secure_transport: false,
            mfa_authenticated_at: None,
            session_issued_at: None,
            request_id: None,
            client_request_id: None,
            user_agent: None,
        }
    }
}

/// The longest `User-Agent` kept, in characters (AWS's CloudTrail keeps the first 1 KB or so; the
/// audit log needs no more than this to tell clients apart).
pub const MAX_USER_AGENT: usize = 256;
