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
    /// The request id, carried into audit events.
    pub request_id: Option<String>,
}

impl Caller {
    pub fn account_id(&self) -> &str {
        self.principal.account_id()
    }
}
