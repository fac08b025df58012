//! The console's pages.

pub mod access_keys;
pub mod account_settings;
pub mod create_user;
pub mod dashboard;
pub mod groups;
pub mod layout;
pub mod mfa_devices;
pub mod password;
pub mod permissions;
pub mod pickers;
pub mod policies;
pub mod roles;
pub mod security_credentials;
pub mod setup;
pub mod signin;
pub mod tags;
pub mod users;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::ConsoleError;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <main class="standalone">
            <div class="card narrow">
                <h1>"Page not found"</h1>
                <p>"There is no page at this address."</p>
                <a class="button primary" href="/">"Go to the IAM dashboard"</a>
            </div>
        </main>
    }
}

/// An error from a server function, shown as AWS's console shows one: a red flash bar.
#[component]
pub fn ErrorAlert(error: ConsoleError) -> impl IntoView {
    let signed_out = error.code == "NotSignedIn";
    view! {
        <div class="alert error" role="alert" data-code=error.code.clone()>
            <strong>{if signed_out { "Signed out".to_owned() } else { error.code.clone() }}</strong>
            <span>{error.message.clone()}</span>
            {signed_out.then(|| view! { <a href="/signin">"Sign in"</a> })}
        </div>
    }
}

/// The error of a finished action, if it failed.
pub fn action_error<T: 'static>(
    value: impl Get<Value = Option<Result<T, ConsoleError>>> + Send + Sync + 'static,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static {
    // `try_get`: during server-side rendering a suspended view can be resolved after the action's
    // owner was disposed (seen here as a panic in the release server's log).
    move || match value.try_get().flatten() {
        Some(Err(error)) => Some(view! { <ErrorAlert error /> }.into_any()),
        _ => None,
    }
}
