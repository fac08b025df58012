//! The web management console: routes, pages and the server functions behind them. Built twice:
//! with `ssr` into the server, with `hydrate` into the browser's wasm. Never both at once.

// The console's view types are deep (Leptos encodes a view's shape in its type); the release
// builds need more than rustc's default query depth.
#![recursion_limit = "512"]

pub mod api;
mod components;
pub mod error;
mod pages;
pub mod paths;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod webauthn;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

pub use error::ConsoleError;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                // With `hash-files`, the names carry their content's hash (served as immutable).
                <leptos_meta::HashedStylesheet options=options.clone() id="portcullis" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page once the browser has hydrated it (effects never run on the server), so that
    // tests and scripts can wait until a page is interactive before they click.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            body.set_attribute("data-hydrated", "").ok();
        }
    });
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Portcullis".to_owned() } else { format!("{page} | IAM | Portcullis") } />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/signin") view=pages::signin::SignInPage />
                <Route path=path!("/signin/mfa") view=pages::signin::MfaStepPage />
                <Route path=path!("/signin/change-password") view=pages::signin::NewPasswordStepPage />
                <Route path=path!("/setup") view=pages::setup::SetupPage />
                <ParentRoute path=path!("") view=pages::layout::ConsoleLayout>
                    <Route path=path!("") view=pages::dashboard::Dashboard />
                    <Route path=path!("users") view=pages::users::UsersPage />
                    <Route path=path!("users/create") view=pages::create_user::CreateUserPage />
                    <Route path=path!("users/details/:name") view=pages::users::UserDetailPage />
                    <Route path=path!("users/:name") view=pages::users::MovedUserPage />
                    <Route path=path!("groups") view=pages::groups::GroupsPage />
                    <Route path=path!("groups/create") view=pages::groups::CreateGroupPage />
                    <Route path=path!("groups/details/:name") view=pages::groups::GroupDetailPage />
                    <Route path=path!("groups/details/:name/add-users") view=pages::groups::AddUsersToGroupPage />
                    <Route
                        path=path!("groups/details/:name/attach-policies")
                        view=|| view! { <pages::permissions::AttachPoliciesPage kind="group" /> }
                    />
                    <Route path=path!("users/details/:name/add-to-groups") view=pages::users::AddUserToGroupsPage />
                    <Route
                        path=path!("users/details/:name/attach-policies")
                        view=|| view! { <pages::permissions::AttachPoliciesPage kind="user" /> }
                    />
                    <Route
                        path=path!("users/details/:name/set-boundary")
                        view=|| view! { <pages::permissions::SetBoundaryPage kind="user" /> }
                    />
                    <Route path=path!("roles") view=pages::roles::RolesPage />
                    <Route path=path!("roles/create") view=pages::roles::CreateRolePage />
                    <Route path=path!("roles/details/:name") view=pages::roles::RoleDetailPage />
                    <Route
                        path=path!("roles/details/:name/attach-policies")
                        view=|| view! { <pages::permissions::AttachPoliciesPage kind="role" /> }
                    />
                    <Route
                        path=path!("roles/details/:name/set-boundary")
                        view=|| view! { <pages::permissions::SetBoundaryPage kind="role" /> }
                    />
                    <Route path=path!("policies") view=pages::policies::PoliciesPage />
                    <Route path=path!("policies/create") view=pages::policies::CreatePolicyPage />
                    <Route path=path!("policies/details/*arn") view=pages::policies::PolicyDetailPage />
                    <Route path=path!("policies/edit/*arn") view=pages::policies::EditPolicyPage />
                    <Route path=path!("policies/attach/*arn") view=pages::policies::AttachPolicyPage />
                    <Route path=path!("security-credentials") view=pages::security_credentials::SecurityCredentialsPage />
                    <Route path=path!("account-settings") view=pages::account_settings::AccountSettingsPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
