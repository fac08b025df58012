//! Account settings: the account alias and the sign-in URL it makes for IAM users (create, change,
//! delete), and the password policy, every AWS field within AWS's ranges.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{
    AccountAliasView, DeleteAccountAlias, DeletePasswordPolicy, PasswordPolicyView, SetAccountAlias,
    UpdatePasswordPolicy, account_alias, password_policy,
};
use crate::components::copy_button::CopyButton;
use crate::pages::layout::Breadcrumbs;
use crate::pages::{ErrorAlert, action_error};

#[component]
pub fn AccountSettingsPage() -> impl IntoView {
    let query = use_query_map();
    // After a change the server sends the page here again with `done` and a fresh `at`: reload.
    let done = move || query.try_with(|q| q.get("done")).flatten();
    let at = move || query.try_with(|q| q.get("at")).flatten();
    let policy = Resource::new(at, |_| password_policy());
    let alias = Resource::new(at, |_| account_alias());
    view! {
        <Title text="Account settings" />
        <Breadcrumbs trail=vec![("Account settings".to_owned(), None)] />
        <h1>"Account settings"</h1>
        {move || match done().as_deref() {
            Some("saved") => Some(view! { <div class="alert success" role="status">"The password policy is saved."</div> }),
            Some("default") => Some(view! { <div class="alert success" role="status">"The account uses the default password policy again."</div> }),
            Some("alias") => Some(view! { <div class="alert success" role="status">"The account alias is saved. IAM users sign in at the new sign-in URL."</div> }),
            Some("alias-deleted") => Some(view! { <div class="alert success" role="status">"The account alias is deleted. IAM users sign in with the account ID."</div> }),
            _ => None,
        }}
        <Transition fallback=|| view! { <p class="loading">"Loading the account alias…"</p> }>
            {move || Suspend::new(async move {
                match alias.await {
                    Ok(a) => view! { <AccountAliasPanel account=a /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Loading the password policy…"</p> }>
            {move || Suspend::new(async move {
                match policy.await {
                    Ok(p) => view! { <PasswordPolicyForm policy=p /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The alias names the account in its sign-in URL, instead of the 12-digit id (AWS's rules: 3 to 63
/// lowercase letters, digits and single hyphens, not starting or ending with one).
#[component]
fn AccountAliasPanel(account: AccountAliasView) -> impl IntoView {
    let save = ServerAction::<SetAccountAlias>::new();
    let delete = ServerAction::<DeleteAccountAlias>::new();
    let current = account.alias.clone().unwrap_or_default();
    let submit = if account.alias.is_some() { "Change alias" } else { "Create alias" };
    let existing = account.alias.clone();
    view! {
        <section class="panel" aria-labelledby="alias-heading">
            <h2 id="alias-heading">"Account alias"</h2>
            <dl class="facts">
                <dt>"Account ID"</dt>
                <dd class="mono">{account.account_id.clone()}</dd>
                <dt>"Account alias"</dt>
                <dd>{account.alias.clone().unwrap_or_else(|| "None".to_owned())}</dd>
                <dt>"Sign-in URL for IAM users in this account"</dt>
                <dd>
                    <a class="mono" href=account.sign_in_url.clone()>{account.sign_in_url.clone()}</a>
                    " "
                    <CopyButton text=account.sign_in_url.clone() label="Copy sign-in URL" />
                </dd>
            </dl>
            {action_error(save.value())}
            {action_error(delete.value())}
            <ActionForm action=save>
                <div class="field">
                    <label for="account_alias">"Preferred alias"</label>
                    <input id="account_alias" name="alias" type="text" required minlength="3" maxlength="63"
                        pattern="[a-z0-9]([a-z0-9\\-]*[a-z0-9])?" autocomplete="off" value=current.clone() />
                    <p class="help">"3 to 63 lowercase letters, digits and single hyphens, not first or last; unique on this installation. The old sign-in URL stops working."</p>
                </div>
                <button type="submit" class="button primary">{submit}</button>
            </ActionForm>
            {existing.map(|alias| view! {
                <ActionForm action=delete>
                    <input type="hidden" name="alias" value=alias />
                    <button type="submit" class="button danger" disabled=move || delete.pending().try_get().unwrap_or(false)>"Delete alias"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn PasswordPolicyForm(policy: PasswordPolicyView) -> impl IntoView {
    let update = ServerAction::<UpdatePasswordPolicy>::new();
    let reset = ServerAction::<DeletePasswordPolicy>::new();
    let expire = RwSignal::new(policy.max_password_age.is_some());
    let reuse = RwSignal::new(policy.password_reuse_prevention.is_some());
    view! {
        <section class="panel" aria-labelledby="policy-heading">
            <h2 id="policy-heading">"Password policy"</h2>
            <p class="help">
                {if policy.custom {
                    "This account has a custom password policy."
                } else {
                    "This account uses the default policy: 8 to 128 characters with at least three of uppercase letters, lowercase letters, numbers and symbols. Common passwords are always refused."
                }}
            </p>
            {action_error(update.value())}
            {action_error(reset.value())}
            <ActionForm action=update>
                <div class="field">
                    <label for="minimum_password_length">"Minimum password length"</label>
                    <input id="minimum_password_length" name="minimum_password_length" type="number" min="6" max="128"
                        required value=policy.minimum_password_length.to_string() />
                    <small class="help">"Between 6 and 128 characters."</small>
                </div>
                <fieldset>
                    <legend>"Password strength"</legend>
                    <Check name="require_uppercase" label="Require at least one uppercase letter from the Latin alphabet (A-Z)" checked=policy.require_uppercase />
                    <Check name="require_lowercase" label="Require at least one lowercase letter from the Latin alphabet (a-z)" checked=policy.require_lowercase />
                    <Check name="require_numbers" label="Require at least one number" checked=policy.require_numbers />
                    <Check name="require_symbols" label="Require at least one non-alphanumeric character (! @ # $ % ^ & * ( ) _ + - = [ ] { } | ')" checked=policy.require_symbols />
                </fieldset>
                <fieldset>
                    <legend>"Other requirements"</legend>
                    <div class="field checkbox">
                        <label>
                            <input type="checkbox" name="expire_passwords" checked=policy.max_password_age.is_some()
                                on:change=move |ev| expire.set(event_target_checked(&ev)) />
                            " Turn on password expiration"
                        </label>
                    </div>
                    <div class="field" class:hidden=move || !expire.try_get().unwrap_or(true)>
                        <label for="max_password_age">"Password expiration period (in days)"</label>
                        <input id="max_password_age" name="max_password_age" type="number" min="1" max="1095"
                            value=policy.max_password_age.unwrap_or(90).to_string() />
                    </div>
                    <div class="field checkbox" class:hidden=move || !expire.try_get().unwrap_or(true)>
                        <label>
                            <input type="checkbox" name="hard_expiry" checked=policy.hard_expiry />
                            " Password expiration requires administrator reset"
                        </label>
                    </div>
                    <Check name="allow_users_to_change_password" label="Allow users to change their own password" checked=policy.allow_users_to_change_password />
                    <div class="field checkbox">
                        <label>
                            <input type="checkbox" name="prevent_reuse" checked=policy.password_reuse_prevention.is_some()
                                on:change=move |ev| reuse.set(event_target_checked(&ev)) />
                            " Prevent password reuse"
                        </label>
                    </div>
                    <div class="field" class:hidden=move || !reuse.try_get().unwrap_or(true)>
                        <label for="password_reuse_prevention">"Number of passwords to remember"</label>
                        <input id="password_reuse_prevention" name="password_reuse_prevention" type="number" min="1" max="24"
                            value=policy.password_reuse_prevention.unwrap_or(5).to_string() />
                    </div>
                </fieldset>
                <button type="submit" class="button primary">"Save changes"</button>
            </ActionForm>
            {policy.custom.then(|| view! {
                <ActionForm action=reset>
                    <button type="submit" class="button">"Use the default policy"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn Check(name: &'static str, label: &'static str, checked: bool) -> impl IntoView {
    view! {
        <div class="field checkbox">
            <label><input type="checkbox" name=name checked=checked />" " {label}</label>
        </div>
    }
}
