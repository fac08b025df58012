//! The one authorization function every IAM action calls before it acts.
//!
//! Today it knows one rule: the root user may do everything in its own account, and nothing else
//! is allowed. The policy evaluator plugs in here, behind the same signature, so no action and no
//! web handler changes when it does.

use crate::caller::{Caller, Principal};
use crate::error::IamError;

/// What is asked: an action in AWS's spelling (`iam:CreateUser`) on a resource ARN.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    /// The account that owns the resource.
    pub resource_account: &'a str,
}

pub fn authorize(caller: &Caller, request: &Request<'_>) -> Result<(), IamError> {
    let allowed = match &caller.principal {
        Principal::Root { account_id } => account_id == request.resource_account,
        Principal::User { .. } => false,
    };
    if allowed { Ok(()) } else { Err(access_denied(caller, request)) }
}

fn access_denied(caller: &Caller, request: &Request<'_>) -> IamError {
    IamError::AccessDenied(format!(
        "{}: {} is not authorized to perform: {} on resource: {}",
        caller.principal.kind_label(),
        caller.principal.arn(),
        request.action,
        request.resource
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Channel;

    fn caller(principal: Principal) -> Caller {
        Caller {
            principal,
            channel: Channel::Internal,
            source_ip: None,
            secure_transport: false,
            mfa_authenticated_at: None,
            request_id: None,
        }
    }

    const REQUEST: Request<'static> = Request {
        action: "iam:CreateUser",
        resource: "arn:aws:iam::111122223333:user/alice",
        resource_account: "111122223333",
    };

    #[test]
    fn root_may_act_in_its_own_account_only() {
        let own = caller(Principal::Root { account_id: "111122223333".into() });
        assert!(authorize(&own, &REQUEST).is_ok());
        let other = caller(Principal::Root { account_id: "444455556666".into() });
        let err = authorize(&other, &REQUEST).unwrap_err();
        assert_eq!(
            err,
            IamError::AccessDenied(
                "User: arn:aws:iam::444455556666:root is not authorized to perform: iam:CreateUser \
                 on resource: arn:aws:iam::111122223333:user/alice"
                    .into()
            )
        );
    }

    #[test]
    fn users_are_denied_until_policies_grant() {
        let user = caller(Principal::User {
            account_id: "111122223333".into(),
            user_id: "AIDAEXAMPLEEXAMPLE123".into(),
            user_name: "bob".into(),
            path: "/ops/".into(),
        });
        let err = authorize(&user, &REQUEST).unwrap_err();
        assert_eq!(err.code(), "AccessDenied");
        assert!(err.message().starts_with("User: arn:aws:iam::111122223333:user/ops/bob is not authorized"));
    }
}
