//! The console's pages, split by section into wasm chunks the browser loads when a page of that
//! section opens (`cargo leptos build --split`): the first page a person sees downloads the
//! router, the frame and its own section, not the policy editor and every other page.
//!
//! A section is one `#[lazy]` function, which becomes one split point: code that only its pages use
//! goes into its chunk, code shared by several sections into chunks of their own. A section per page
//! was tried first: it made over 500 chunks (a page needed up to 342 requests) and added minutes of
//! wasm-opt to every release build. So pages that are opened first (sign-in, the dashboard, each
//! list) have sections of their own, and the pages behind them share one per kind of entity.
//!
//! Every route is a [`LazyRoute`] that asks its section for its page. On the server a section is
//! an ordinary call, and it tells Leptos which chunks the page uses, so the page's HTML preloads
//! them; in the browser, `hydrate_lazy` loads them before it hydrates.
//!
//! Without `--split` a lazy function's import is never resolved and the wasm does not start: every
//! `cargo leptos` build of the console must split (`scripts/run.sh`, `scripts/test.sh`).

use leptos::prelude::*;
use leptos_router::LazyRoute;

use crate::pages;

/// Declares a section: its page enum, the lazy function that renders a page of it (with the name of
/// the preload function `#[lazy]` makes beside it), and a route type per page.
macro_rules! section {
    ($(#[$doc:meta])* $lazy:ident, $preload:ident, $pages:ident { $($route:ident => $view:expr,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub enum $pages {
            $($route,)*
        }

        // Named: `#[lazy]` tells split points apart by name and call site, and inside this macro
        // every section has the same call site.
        #[leptos::lazy($lazy)]
        fn $lazy(page: $pages) -> AnyView {
            match page {
                $($pages::$route => $view.into_any(),)*
            }
        }

        $(
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_: Self) -> AnyView {
                    $lazy($pages::$route).await
                }

                // Hydration must find the page's code already there: the router awaits every
                // route's `preload` before it hydrates, then renders the view without waiting.
                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )*
    };
}

section!(
    /// The sign-in page: the first page anyone sees, so it carries nothing else.
    sign_in_section, __preload_sign_in_section, SignInPages {
        SignIn => view! { <pages::signin::SignInPage /> },
    }
);

section!(
    /// Sign-in's MFA and new-password steps, and first-run setup: no console frame.
    sign_in_steps_section, __preload_sign_in_steps_section, SignInStepPages {
        SignInMfa => view! { <pages::signin::MfaStepPage /> },
        SignInNewPassword => view! { <pages::signin::NewPasswordStepPage /> },
        Setup => view! { <pages::setup::SetupPage /> },
    }
);

section!(
    /// The dashboard: the console's first page after sign-in.
    dashboard_section, __preload_dashboard_section, DashboardPages {
        Dashboard => view! { <pages::dashboard::Dashboard /> },
    }
);

section!(
    /// The account's settings and the signed-in identity's own credentials.
    account_section, __preload_account_section, AccountPages {
        AccountSettings => view! { <pages::account_settings::AccountSettingsPage /> },
        SecurityCredentials => view! { <pages::security_credentials::SecurityCredentialsPage /> },
    }
);

section!(
    /// The users list, apart from the pages of one user (its tabs carry credentials and policies).
    users_list_section, __preload_users_list_section, UsersListPages {
        Users => view! { <pages::users::UsersPage /> },
    }
);

section!(
    /// The create-user wizard, a user's page and its pickers.
    users_section, __preload_users_section, UserPages {
        CreateUser => view! { <pages::create_user::CreateUserPage /> },
        User => view! { <pages::users::UserDetailPage /> },
        AddUserToGroups => view! { <pages::users::AddUserToGroupsPage /> },
        AttachUserPolicies => view! { <pages::permissions::AttachPoliciesPage kind="user" /> },
        SetUserBoundary => view! { <pages::permissions::SetBoundaryPage kind="user" /> },
    }
);

section!(
    /// The user groups list.
    groups_list_section, __preload_groups_list_section, GroupsListPages {
        Groups => view! { <pages::groups::GroupsPage /> },
    }
);

section!(
    /// Creating a group, a group's page and its pickers.
    groups_section, __preload_groups_section, GroupPages {
        CreateGroup => view! { <pages::groups::CreateGroupPage /> },
        Group => view! { <pages::groups::GroupDetailPage /> },
        AddUsersToGroup => view! { <pages::groups::AddUsersToGroupPage /> },
        AttachGroupPolicies => view! { <pages::permissions::AttachPoliciesPage kind="group" /> },
    }
);

section!(
    /// The roles list.
    roles_list_section, __preload_roles_list_section, RolesListPages {
        Roles => view! { <pages::roles::RolesPage /> },
    }
);

section!(
    /// Creating a role (with the trust policy's JSON editor), a role's page and its pickers.
    roles_section, __preload_roles_section, RolePages {
        CreateRole => view! { <pages::roles::CreateRolePage /> },
        Role => view! { <pages::roles::RoleDetailPage /> },
        AttachRolePolicies => view! { <pages::permissions::AttachPoliciesPage kind="role" /> },
        SetRoleBoundary => view! { <pages::permissions::SetBoundaryPage kind="role" /> },
    }
);

section!(
    /// The policies list.
    policies_list_section, __preload_policies_list_section, PoliciesListPages {
        Policies => view! { <pages::policies::PoliciesPage /> },
    }
);

section!(
    /// Creating and editing a policy (the visual and JSON editors), a policy's page, attaching it.
    policies_section, __preload_policies_section, PolicyPages {
        CreatePolicy => view! { <pages::policies::CreatePolicyPage /> },
        Policy => view! { <pages::policies::PolicyDetailPage /> },
        EditPolicy => view! { <pages::policies::EditPolicyPage /> },
        AttachPolicy => view! { <pages::policies::AttachPolicyPage /> },
    }
);
