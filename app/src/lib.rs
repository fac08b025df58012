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
mod sections;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod webauthn;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, path};

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
                <Route path=path!("/signin") view={Lazy::<sections::SignIn>::new()} />
                <Route path=path!("/signin/mfa") view={Lazy::<sections::SignInMfa>::new()} />
                <Route path=path!("/signin/change-password") view={Lazy::<sections::SignInNewPassword>::new()} />
                <Route path=path!("/setup") view={Lazy::<sections::Setup>::new()} />
                <ParentRoute path=path!("") view=pages::layout::ConsoleLayout>
                    <Route path=path!("") view={Lazy::<sections::Dashboard>::new()} />
                    <Route path=path!("users") view={Lazy::<sections::Users>::new()} />
                    <Route path=path!("users/create") view={Lazy::<sections::CreateUser>::new()} />
                    <Route path=path!("users/details/:name") view={Lazy::<sections::User>::new()} />
                    <Route path=path!("users/:name") view=pages::users::MovedUserPage />
                    <Route
                        path=path!("users/details/:name/add-to-groups")
                        view={Lazy::<sections::AddUserToGroups>::new()}
                    />
                    <Route
                        path=path!("users/details/:name/attach-policies")
                        view={Lazy::<sections::AttachUserPolicies>::new()}
                    />
                    <Route
                        path=path!("users/details/:name/set-boundary")
                        view={Lazy::<sections::SetUserBoundary>::new()}
                    />
                    <Route path=path!("groups") view={Lazy::<sections::Groups>::new()} />
                    <Route path=path!("groups/create") view={Lazy::<sections::CreateGroup>::new()} />
                    <Route path=path!("groups/details/:name") view={Lazy::<sections::Group>::new()} />
                    <Route
                        path=path!("groups/details/:name/add-users")
                        view={Lazy::<sections::AddUsersToGroup>::new()}
                    />
                    <Route
                        path=path!("groups/details/:name/attach-policies")
                        view={Lazy::<sections::AttachGroupPolicies>::new()}
                    />
                    <Route path=path!("roles") view={Lazy::<sections::Roles>::new()} />
                    <Route path=path!("roles/create") view={Lazy::<sections::CreateRole>::new()} />
                    <Route path=path!("roles/details/:name") view={Lazy::<sections::Role>::new()} />
                    <Route
                        path=path!("roles/details/:name/attach-policies")
                        view={Lazy::<sections::AttachRolePolicies>::new()}
                    />
                    <Route
                        path=path!("roles/details/:name/set-boundary")
                        view={Lazy::<sections::SetRoleBoundary>::new()}
                    />
                    <Route path=path!("policies") view={Lazy::<sections::Policies>::new()} />
                    <Route path=path!("policies/create") view={Lazy::<sections::CreatePolicy>::new()} />
                    <Route path=path!("policies/details/*arn") view={Lazy::<sections::Policy>::new()} />
                    <Route path=path!("policies/edit/*arn") view={Lazy::<sections::EditPolicy>::new()} />
                    <Route path=path!("policies/attach/*arn") view={Lazy::<sections::AttachPolicy>::new()} />
                    <Route path=path!("security-credentials") view={Lazy::<sections::SecurityCredentials>::new()} />
                    <Route path=path!("account-settings") view={Lazy::<sections::AccountSettings>::new()} />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
