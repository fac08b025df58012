//! The tags of a user, role or managed policy (the Tags tab of its page): list, add or change, remove.
//! `ListUserTags`/`ListRoleTags`, `TagUser`/`TagRole`, `UntagUser`/`UntagRole`, which iam-core
//! authorizes (with `aws:RequestTag/...` and `aws:TagKeys`, so a tag-based guardrail applies).

use leptos::prelude::*;

use super::{TagInput, TagView};
use crate::error::ConsoleError;

/// What the forms name (`user`, `role`) as iam-core's target.
#[cfg(feature = "ssr")]
fn target<'a>(kind: &str, name: &'a str) -> Result<iam_core::tagging::Taggable<'a>, ConsoleError> {
    use iam_core::tagging::Taggable;
    match kind {
        "user" => Ok(Taggable::User(name)),
        "role" => Ok(Taggable::Role(name)),
        "policy" => Ok(Taggable::Policy(name)),
        _ => Err(ConsoleError::new("ValidationError", format!("There is no kind of taggable entity named `{kind}`."))),
    }
}

#[server(prefix = "/api", endpoint = "entity_tags")]
pub async fn entity_tags(entity_kind: String, entity_name: String) -> Result<Vec<TagView>, ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let tags = scope.state.iam.list_tags(&caller, target(&entity_kind, &entity_name)?).await?;
    Ok(tags.into_iter().map(|t| TagView { key: t.key, value: t.value }).collect())
}

/// Adds tags, or changes the value of a key already there (`TagUser`, `TagRole`).
#[server(prefix = "/api", endpoint = "add_tags")]
pub async fn add_tags(
    entity_kind: String,
    entity_name: String,
    #[server(default)] tags: Vec<TagInput>,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    let tags: Vec<(String, String)> =
        tags.into_iter().filter(|t| !(t.key.is_empty() && t.value.is_empty())).map(|t| (t.key, t.value)).collect();
    if tags.is_empty() {
        return Err(ConsoleError::new("ValidationError", "Enter a tag key."));
    }
    scope.state.iam.tag(&caller, target(&entity_kind, &entity_name)?, &tags).await?;
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "tags-saved");
    Ok(())
}

/// Removes the selected tags (`UntagUser`, `UntagRole`).
#[server(prefix = "/api", endpoint = "remove_tags")]
pub async fn remove_tags(
    entity_kind: String,
    entity_name: String,
    #[server(default)] names: Vec<String>,
) -> Result<(), ConsoleError> {
    let scope = crate::ssr::RequestScope::capture()?;
    let caller = scope.caller().await?;
    // Tag keys are compared ignoring case, as IAM names are.
    let keys = super::batch(names, "Select at least one tag to remove.")?;
    scope.state.iam.untag(&caller, target(&entity_kind, &entity_name)?, &keys).await?;
    scope.redirect_done(&crate::paths::entity_href(&entity_kind, &entity_name), "tags-removed");
    Ok(())
}
