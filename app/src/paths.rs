//! Where each entity's console page is, in one place (the pages link to them, the server functions
//! redirect to them). As in AWS's console, an entity's page is under `/details/`, so that the name
//! of a user or group can never be taken for one of the section's own pages (`/users/create`).
//!
//! The names are IAM names (`[\w+=,.@-]+`, checked by iam-core before any redirect), all safe in a
//! path segment as they are. A managed policy's page is under its ARN (a customer's policy may
//! share its name with an AWS managed one), one path segment as AWS's console writes it: its `/`
//! percent-encoded, so that a policy path such as `/../` can never be taken by the browser for a
//! step up to another policy's page.

/// The page of a user.
pub fn user_href(name: &str) -> String {
    format!("/users/details/{name}")
}

/// The page of a user group.
pub fn group_href(name: &str) -> String {
    format!("/groups/details/{name}")
}

/// The page of a role.
pub fn role_href(name: &str) -> String {
    format!("/roles/details/{name}")
}

/// The page of a managed policy.
pub fn policy_href(arn: &str) -> String {
    format!("/policies/details/{}", arn_in_path(arn))
}

/// A tab of a managed policy's page (`versions`, `entities`, `tags`).
pub fn policy_tab(arn: &str, tab: &str) -> String {
    format!("{}?tab={tab}", policy_href(arn))
}

/// Where a managed policy is edited.
pub fn policy_edit_href(arn: &str) -> String {
    format!("/policies/edit/{}", arn_in_path(arn))
}

/// Where a managed policy is attached to entities.
pub fn policy_attach_href(arn: &str) -> String {
    format!("/policies/attach/{}", arn_in_path(arn))
}

/// An ARN as one path segment: `:` kept; `/` and anything a path could take for something else
/// (`?`, `#`, `%`, spaces, which a policy's path may hold) percent-encoded. Dots are kept: a whole
/// ARN is never the segment `.` or `..`.
fn arn_in_path(arn: &str) -> String {
    arn.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b':' | b'-' | b'_' | b'.' | b'~' | b'@' | b'+' | b'=' | b',' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page of an entity that holds policies or tags, by the kind the forms name (`user`,
/// `group`, `role`; `policy` with its ARN).
pub fn entity_href(kind: &str, name: &str) -> String {
    match kind {
        "group" => group_href(name),
        "role" => role_href(name),
        "policy" => policy_tab(name, "tags"),
        _ => user_href(name),
    }
}

/// A name IAM could have made (`[\w+=,.@-]{1,128}`).
pub fn is_iam_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_iam_allows_reach_a_success_bar() {
        for good in ["team", "a+b=c,d.e@f_g-h", &"x".repeat(128)] {
            assert!(is_iam_name(good), "{good}");
        }
        for bad in ["", "two words", "Sign-in-at:evil", "<b>", "é", &"x".repeat(129)] {
            assert!(!is_iam_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_user_named_like_a_page_has_its_own_address() {
        assert_eq!(user_href("create"), "/users/details/create");
        assert_eq!(entity_href("group", "create"), "/groups/details/create");
        assert_eq!(entity_href("role", "deploy"), "/roles/details/deploy");
        assert_eq!(entity_href("user", "a+b=c,d.e_f-g@h"), "/users/details/a+b=c,d.e_f-g@h");
    }

    #[test]
    fn a_policy_is_found_by_its_arn() {
        assert_eq!(
            policy_href("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
            "/policies/details/arn:aws:iam::aws:policy%2Fjob-function%2FViewOnlyAccess"
        );
        assert_eq!(
            policy_tab("arn:aws:iam::123456789012:policy/a b?#%/P", "versions"),
            "/policies/details/arn:aws:iam::123456789012:policy%2Fa%20b%3F%23%25%2FP?tab=versions"
        );
        // A path of dot segments stays inside the one segment: no step up to another page.
        let sneaky = policy_href("arn:aws:iam::123456789012:policy/../arn:aws:iam::aws:policy/AdministratorAccess");
        assert_eq!(sneaky.matches('/').count(), 3, "{sneaky}");
    }
}
