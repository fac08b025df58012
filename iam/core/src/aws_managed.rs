//! The AWS managed policies that ship with Portcullis (`arn:aws:iam::aws:policy/...`): read-only,
//! the same in every account, parsed and compiled once on first use. The data and its licence are
//! in `iam/core/data`.

use std::sync::{Arc, OnceLock};

use iam_policy::{CompiledPolicy, compile, parse_value};

/// One AWS managed policy.
#[derive(Debug)]
pub struct AwsManagedPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// The default version's document, as JSON text.
    pub document: String,
    pub compiled: Arc<CompiledPolicy>,
}

/// The version id AWS managed policies are reported with. Portcullis ships one version of each.
pub const VERSION_ID: &str = "v1";

#[derive(serde::Deserialize)]
struct Entry {
    name: String,
    path: String,
    arn: String,
    document: serde_json::Value,
}

fn load() -> Vec<AwsManagedPolicy> {
    let entries: Vec<Entry> = match serde_json::from_str(include_str!("../data/aws-managed-policies.json")) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::error!(error = %e, "the shipped AWS managed policies do not parse");
            return Vec::new();
        }
    };
    let mut policies: Vec<AwsManagedPolicy> = entries
        .into_iter()
        .filter_map(|e| match parse_value(&e.document) {
            Ok(doc) => Some(AwsManagedPolicy {
                compiled: Arc::new(compile(&doc, e.arn.clone())),
                document: e.document.to_string(),
                name: e.name,
                path: e.path,
                arn: e.arn,
            }),
            Err(err) => {
                tracing::error!(policy = %e.arn, error = %err, "a shipped AWS managed policy does not parse");
                None
            }
        })
        .collect();
    policies.sort_by_key(|p| p.name.to_ascii_lowercase());
    policies
}

/// Every shipped AWS managed policy, ordered by name ignoring case.
pub fn all() -> &'static [AwsManagedPolicy] {
    static POLICIES: OnceLock<Vec<AwsManagedPolicy>> = OnceLock::new();
    POLICIES.get_or_init(load)
}

/// The AWS managed policy with this ARN.
pub fn find(arn: &str) -> Option<&'static AwsManagedPolicy> {
    all().iter().find(|p| p.arn == arn)
}

/// Whether an ARN names an AWS managed policy (shipped or not).
pub fn is_aws_managed_arn(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_policy_loads_with_the_ones_the_console_needs() {
        let all = all();
        assert_eq!(all.len(), 16, "every entry of the data file parses");
        for name in [
            "AdministratorAccess",
            "PowerUserAccess",
            "ReadOnlyAccess",
            "IAMFullAccess",
            "IAMReadOnlyAccess",
            "IAMUserChangePassword",
        ] {
            let p = find(&format!("arn:aws:iam::aws:policy/{name}")).unwrap();
            assert_eq!(p.name, name);
            assert_eq!(p.path, "/");
        }
        let view = find("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess").unwrap();
        assert_eq!(view.path, "/job-function/");
        assert!(is_aws_managed_arn(&view.arn));
        assert!(!is_aws_managed_arn("arn:aws:iam::111122223333:policy/x"));
    }
}
