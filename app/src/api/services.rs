//! The AWS service catalogue for the visual policy editor, fetched as data when the editor needs
//! it (the service list once, a service's actions when it is chosen) rather than compiled into
//! the wasm. It is the shipped data set (`iam/core/data/aws-services.json`), the same for every
//! account: no IAM action reads it, but only a signed-in person may fetch it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChoice {
    pub prefix: String,
    pub name: String,
}

/// A service's actions with their access levels, its resource types with their ARN formats and
/// its condition keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDetails {
    pub prefix: String,
    pub name: String,
    /// (action, access level as AWS names it), sorted by name.
    pub actions: Vec<(String, String)>,
    /// (resource type, ARN format).
    pub resource_types: Vec<(String, String)>,
    pub condition_keys: Vec<String>,
}

/// Every service, by name.
#[server(prefix = "/api", endpoint = "service_list")]
pub async fn service_list() -> Result<Vec<ServiceChoice>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    scope.caller().await?;
    let mut list: Vec<ServiceChoice> = iam_core::services::services()
        .iter()
        .map(|s| ServiceChoice { prefix: s.prefix.clone(), name: s.name.clone() })
        .collect();
    list.sort_by_key(|s| s.name.to_lowercase());
    Ok(list)
}

#[server(prefix = "/api", endpoint = "service_actions")]
pub async fn service_actions(prefix: String) -> Result<ServiceDetails, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    scope.caller().await?;
    if prefix.len() > 64 {
        return Err(ConsoleError::new("ValidationError", "A service prefix is at most 64 characters."));
    }
    let service = iam_core::services::service(&prefix).ok_or_else(|| {
        ConsoleError::new("NoSuchEntity", format!("There is no AWS service with the prefix `{prefix}`."))
    })?;
    Ok(ServiceDetails {
        prefix: service.prefix.clone(),
        name: service.name.clone(),
        actions: service.actions.iter().map(|a| (a.name.clone(), a.level.as_str().to_owned())).collect(),
        resource_types: service.resource_types.iter().map(|r| (r.name.clone(), r.arn.clone())).collect(),
        condition_keys: service.condition_keys.iter().map(|(k, _)| k.clone()).collect(),
    })
}
