//! Where each entity's console page is, in one place (the pages link to them, the server functions
//! redirect to them). As in AWS's console, an entity's page is under `/details/`, so that the name
//! of a user or group can never be taken for one of the section's own pages (`/users/create`).
//!
//! The names are IAM names (`[\w+=,.@-]+`, checked by iam-core before any redirect), all safe in a
//! path segment as they are.

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

/// The page of an entity that holds policies, by the kind the forms name (`user`, `group`, `role`).
pub fn entity_href(kind: &str, name: &str) -> String {
    match kind {
        "group" => group_href(name),
        "role" => role_href(name),
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
}
