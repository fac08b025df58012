//! Access keys, as the AWS console's "Access keys" panel: the keys of the signed-in principal (on
//! "My security credentials") or of a user (on the user's page). Create one (at most two), shown
//! once with its secret and a `.csv` download; a description; activate, deactivate; delete after
//! deactivating and typing the key id; when and where each was last used; a mark on keys older
//! than 90 days. iam-core authorizes every step on the user concerned.

use leptos::prelude::*;

use crate::api::{AccessKeyView, CreateAccessKey, DeleteAccessKey, NewAccessKeyView, SetAccessKeyStatus, access_keys};
use crate::components::download::DownloadCsvButton;
use crate::pages::mfa_devices::user_field;
use crate::pages::{ErrorAlert, action_error};

/// Keys older than this many days are marked for rotation, as AWS's console marks them.
const ROTATE_AFTER_DAYS: i64 = 90;

/// The notice for a finished change to access keys (`done` of the page's query).
pub fn access_key_notice(done: &str) -> Option<&'static str> {
    match done {
        "key-activated" => Some("The access key is active."),
        "key-deactivated" => Some("The access key is inactive: requests signed with it are refused."),
        "key-deleted" => Some("The access key is deleted."),
        "key-deleted-description-kept" => {
            Some("The access key is deleted. Its description tag could not be removed: remove it under Tags.")
        }
        _ => None,
    }
}

/// The access keys panel of `user` (`None`: the signed-in principal's own).
#[component]
pub fn AccessKeysPanel(user: Option<String>, at: Signal<Option<String>>) -> impl IntoView {
    let keys = {
        let user = user.clone();
        Resource::new(move || at.try_get().flatten(), move |_| access_keys(user.clone()))
    };
    let create = ServerAction::<CreateAccessKey>::new();
    let status = ServerAction::<SetAccessKeyStatus>::new();
    let delete = ServerAction::<DeleteAccessKey>::new();
    // A key just made is listed at once (the answer holds its secret, so it is no redirect).
    Effect::new(move |_| {
        if matches!(create.value().try_get().flatten(), Some(Ok(_))) {
            keys.refetch();
        }
    });
    let table_user = user.clone();
    view! {
        <section class="panel" aria-labelledby="access-keys-heading">
            <h2 id="access-keys-heading">"Access keys"</h2>
            <p class="help">
                "Access keys sign requests to the AWS-compatible API (the aws CLI, SDKs). At most two; rotate them regularly. Keys older than "
                {ROTATE_AFTER_DAYS} " days are marked."
            </p>
            {action_error(status.value())}
            {action_error(delete.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading access keys…"</p> }>
                {move || {
                    let user = table_user.clone();
                    Suspend::new(async move {
                        match keys.await {
                            Ok(list) => view! { <AccessKeysTable keys=list user status delete /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
            <CreateKey user create />
        </section>
    }
    .into_any()
}

#[component]
fn AccessKeysTable(
    keys: Vec<AccessKeyView>,
    user: Option<String>,
    status: ServerAction<SetAccessKeyStatus>,
    delete: ServerAction<DeleteAccessKey>,
) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="empty">"No access keys. Create one to use the API with the aws CLI or an SDK."</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Access key ID"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {keys
                        .into_iter()
                        .enumerate()
                        .map(|(row, key)| view! { <AccessKeyRow key row user=user.clone() status delete /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn AccessKeyRow(
    key: AccessKeyView,
    /// The row's index: element ids are made from it.
    row: usize,
    user: Option<String>,
    status: ServerAction<SetAccessKeyStatus>,
    delete: ServerAction<DeleteAccessKey>,
) -> impl IntoView {
    let id = key.access_key_id.clone();
    let active = key.status == "Active";
    let (next, button) = if active { ("Inactive", "Deactivate") } else { ("Active", "Activate") };
    let toggle_label = format!("{button} {id}");
    let old = key.age_days > ROTATE_AFTER_DAYS;
    let last_used = match &key.last_used {
        Some((when, service, region)) => format!("{when} ({service}, {region})"),
        None if key.last_used_hidden => "Not available (iam:GetAccessKeyLastUsed is not allowed)".to_owned(),
        None => "Never".to_owned(),
    };
    let delete_form = if active {
        view! { <p class="help">"Deactivate the key before deleting it."</p> }.into_any()
    } else {
        let confirm_id = format!("delete-key-{row}");
        let (user_field, id) = (user_field(&user), id.clone());
        let (summary_label, delete_label) = (format!("Delete {id}"), format!("Delete access key {id}"));
        view! {
            <details>
                <summary class="button" aria-label=summary_label>"Delete"</summary>
                <ActionForm action=delete>
                    {user_field}
                    <input type="hidden" name="access_key_id" value=id.clone() />
                    <div class="field">
                        <label for=confirm_id.clone()>"To confirm deletion, enter the access key ID."</label>
                        <input id=confirm_id name="confirmation" type="text" autocomplete="off" placeholder=id />
                    </div>
                    <button type="submit" class="button danger" disabled=move || delete.pending().try_get().unwrap_or(false) aria-label=delete_label>
                        "Delete access key"
                    </button>
                </ActionForm>
            </details>
        }
        .into_any()
    };
    view! {
        <tr>
            <th scope="row" class="mono">{id.clone()}</th>
            <td>{key.description.clone().unwrap_or_else(|| "-".to_owned())}</td>
            <td>{key.status.clone()}</td>
            <td>
                {key.created.clone()} " (" {key.age_days} " days)"
                {old.then(|| view! { <span class="badge warning">" Older than 90 days: rotate it"</span> })}
            </td>
            <td>{last_used}</td>
            <td>
                <ActionForm action=status>
                    {user_field(&user)}
                    <input type="hidden" name="access_key_id" value=id.clone() />
                    <input type="hidden" name="status" value=next />
                    <button type="submit" class="button" aria-label=toggle_label>{button}</button>
                </ActionForm>
                {delete_form}
            </td>
        </tr>
    }
    .into_any()
}

/// "Create access key": an optional description, then the new key with its secret, this once.
#[component]
fn CreateKey(user: Option<String>, create: ServerAction<CreateAccessKey>) -> impl IntoView {
    let pending = create.pending();
    let created = move || create.value().try_get().flatten().and_then(Result::ok);
    // Until the page is interactive the form would post itself, and the browser would never show
    // the answer, the secret; the server refuses such a post too.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let busy = move || pending.try_get().unwrap_or(false) || !interactive.try_get().unwrap_or(false);
    view! {
        <details class="form-panel">
            <summary class="button">"Create access key"</summary>
            {action_error(create.value())}
            {move || created().map(|key| view! {
                <NewKey key />
                // The secret leaves the page when the user says they have it.
                <button type="button" class="button primary" on:click=move |_| create.value().set(None)>"Done"</button>
            })}
            <div class:hidden=move || created().is_some()>
            <ActionForm action=create>
                {user_field(&user)}
                <div class="field">
                    <label for="key_description">"Description tag value (optional)"</label>
                    <input id="key_description" name="description" type="text" maxlength="256" autocomplete="off" />
                </div>
                // Disabled while pending: a second click would make a second key.
                <button type="submit" class="button primary" disabled=busy>
                    "Create key"
                </button>
            </ActionForm>
            </div>
        </details>
    }
}

/// The key just created, as AWS's "Retrieve access keys" step shows it: the secret this once, and
/// the same two values as AWS's `.csv` file.
#[component]
fn NewKey(key: NewAccessKeyView) -> impl IntoView {
    let csv = format!("Access key ID,Secret access key\n{},{}\n", key.access_key_id, key.secret_access_key);
    let file = format!("{}_accessKeys.csv", key.user_name);
    view! {
        <div class="alert success" role="status">
            <strong>"Access key created"</strong>
            <span>"This is the only time the secret access key can be viewed or downloaded. You cannot recover it later; you can create a new key at any time."</span>
        </div>
        {key.description_error.clone().map(|e| view! {
            <div class="alert error" role="alert"><span>{format!("The description was not saved: {e}")}</span></div>
        })}
        <dl class="facts">
            <dt>"Access key ID"</dt>
            <dd class="mono" aria-label="Access key ID">{key.access_key_id.clone()}</dd>
            <dt>"Secret access key"</dt>
            <dd class="mono" aria-label="Secret access key">{key.secret_access_key.clone()}</dd>
        </dl>
        <DownloadCsvButton file csv />
    }
}
