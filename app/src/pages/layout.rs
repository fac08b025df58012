//! The console's frame, modeled on the AWS Management Console: a top bar with the account and the
//! signed-in identity, the IAM console's left navigation, and the page's content.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_location;

use crate::api::{Identity, SignOut, whoami};
use crate::pages::ErrorAlert;

/// The signed-in identity, shared with the pages below the layout.
#[derive(Clone, Copy)]
pub struct CurrentIdentity(pub Resource<Result<Identity, crate::ConsoleError>>);

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let identity = Resource::new(|| (), |_| whoami());
    provide_context(CurrentIdentity(identity));
    let nav_open = RwSignal::new(false);
    let location = use_location();
    // Close the phone-sized menu after each navigation.
    Effect::new(move |_| {
        location.pathname.track();
        nav_open.set(false);
    });

    view! {
        <div class="console">
            <header class="topbar">
                <button
                    class="menu-toggle"
                    aria-label="Toggle navigation"
                    aria-expanded=move || nav_open.get().to_string()
                    on:click=move |_| nav_open.update(|open| *open = !*open)
                >
                    "☰"
                </button>
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"▦"</span>
                    " Portcullis"
                </a>
                <span class="service-name">"IAM"</span>
                <div class="topbar-right">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            identity.await.ok().map(|id| view! { <IdentityMenu identity=id /> })
                        })}
                    </Transition>
                </div>
            </header>
            <div class="frame">
                <nav class="sidenav" class:open=move || nav_open.get() aria-label="Identity and Access Management">
                    <h2>"Identity and Access Management (IAM)"</h2>
                    <ul>
                        <li><A href="/" exact=true>"Dashboard"</A></li>
                    </ul>
                    <h3>"Access management"</h3>
                    <ul>
                        <li><A href="/groups">"User groups"</A></li>
                        <li><A href="/users">"Users"</A></li>
                        <li><A href="/roles">"Roles"</A></li>
                        <li><A href="/policies">"Policies"</A></li>
                        <li><A href="/account-settings">"Account settings"</A></li>
                    </ul>
                    <h3>"Your identity"</h3>
                    <ul>
                        <li><A href="/security-credentials">"My security credentials"</A></li>
                    </ul>
                </nav>
                <main class="content">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match identity.await {
                                Ok(id) => id.password_expires_in_days.map(|days| view! {
                                    <div class="alert warning" role="status">
                                        {match days {
                                            0 => "Your password has expired. ".to_owned(),
                                            1 => "Your password expires in 1 day. ".to_owned(),
                                            n => format!("Your password expires in {n} days. "),
                                        }}
                                        <a href="/security-credentials">"Change your password"</a>
                                    </div>
                                })
                                .into_any(),
                                Err(error) => view! { <ErrorAlert error /> }.into_any(),
                            }
                        })}
                    </Transition>
                    // The page stands outside every suspended view, so that it makes its resources
                    // while the browser hydrates, in the server's order, and reads the server's
                    // data. Made inside one, a page's resources came after hydration, found no
                    // data, and their own suspense met the server's content with its fallback
                    // (tachys "unreachable": the page's wasm died). Its sections are also streamed
                    // as chunks of their own, not nested in the identity's.
                    <Outlet />
                </main>
            </div>
        </div>
    }
}

#[component]
fn IdentityMenu(identity: Identity) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let account_label = match &identity.account_alias {
        Some(alias) => format!("{alias} ({})", identity.account_id),
        None => identity.account_id.clone(),
    };
    let who =
        if identity.is_root { format!("{} (root)", identity.display_name) } else { identity.display_name.clone() };
    // As the AWS console's top bar: `identity @ account alias` (or account id).
    let headline = format!("{who} @ {}", identity.account_alias.clone().unwrap_or_else(|| identity.account_id.clone()));
    view! {
        <details class="identity">
            <summary data-testid="identity">{headline}</summary>
            <div class="identity-panel">
                <dl>
                    <dt>"Account"</dt>
                    <dd data-testid="account">{account_label}</dd>
                    <dt>"Signed in as"</dt>
                    <dd>{who}</dd>
                    <dt>"ARN"</dt>
                    <dd class="mono">{identity.arn.clone()}</dd>
                </dl>
                <a class="button" href="/security-credentials">"Security credentials"</a>
                <ActionForm action=sign_out>
                    <button type="submit" class="button">"Sign out"</button>
                </ActionForm>
            </div>
        </details>
    }
}

/// Breadcrumbs above a page's title: `IAM > Users > alice`.
#[component]
pub fn Breadcrumbs(#[prop(into)] trail: Vec<(String, Option<String>)>) -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <ol>
                <li><a href="/">"IAM"</a></li>
                {trail
                    .into_iter()
                    .map(|(label, href)| match href {
                        Some(href) => view! { <li><a href=href>{label}</a></li> }.into_any(),
                        None => view! { <li aria-current="page">{label}</li> }.into_any(),
                    })
                    .collect_view()}
            </ol>
        </nav>
    }
}
