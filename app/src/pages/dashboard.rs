//! The IAM dashboard: the account, and where its IAM users sign in.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::copy_button::CopyButton;
use crate::pages::layout::CurrentIdentity;

#[component]
pub fn Dashboard() -> impl IntoView {
    let CurrentIdentity(identity) = expect_context::<CurrentIdentity>();
    view! {
        <Title text="Dashboard" />
        <nav class="breadcrumbs" aria-label="Breadcrumbs"><ol><li aria-current="page">"IAM"</li></ol></nav>
        <h1>"IAM dashboard"</h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                identity.await.ok().map(|id| {
                    let sign_in_url = id.sign_in_url.clone();
                    let root_without_mfa = id.is_root && !id.has_mfa;
                    view! {
                        {root_without_mfa.then(|| view! {
                            <div class="alert warning" role="alert">
                                <strong>"Add MFA for the root user"</strong>
                                <span>"The root user can do anything in this account and has no MFA device. Assign one now."</span>
                                <a href="/security-credentials">"Assign MFA"</a>
                            </div>
                        })}
                        <section class="panel">
                            <h2>"AWS Account"</h2>
                            <dl class="facts">
                                <dt>"Account ID"</dt>
                                <dd class="mono" data-testid="account-id">{id.account_id.clone()}</dd>
                                <dt>"Account Alias"</dt>
                                <dd>{id.account_alias.clone().unwrap_or_else(|| "-".to_owned())}</dd>
                                <dt>"Sign-in URL for IAM users in this account"</dt>
                                <dd>
                                    <a class="mono" href=sign_in_url.clone()>{sign_in_url.clone()}</a>
                                    " "
                                    <CopyButton text=sign_in_url label="Copy sign-in URL" />
                                </dd>
                            </dl>
                        </section>
                        <section class="panel">
                            <h2>"Quick links"</h2>
                            <ul class="links">
                                <li><a href="/users">"Users"</a>" - create and manage the people and workloads of this account"</li>
                                <li><a href="/users/create">"Create user"</a></li>
                            </ul>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}
