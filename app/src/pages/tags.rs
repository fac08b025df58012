//! The Tags panel of a user or role page: the tags as a table, remove the selected ones, add a tag
//! or change a key's value.

use leptos::prelude::*;

use crate::api::{AddTags, RemoveTags, entity_tags};
use crate::components::list::RowCheckbox;
use crate::pages::{ErrorAlert, action_error};

const REMOVE_FORM: &str = "remove-tags";

/// `kind` is `user` or `role`; `at` changes after each change, to reload.
#[component]
pub fn TagsPanel(kind: &'static str, entity: String, at: Signal<Option<String>>) -> impl IntoView {
    let remove = ServerAction::<RemoveTags>::new();
    let add = ServerAction::<AddTags>::new();
    let tags = {
        let entity = entity.clone();
        Resource::new(
            move || (at.try_get().flatten(), remove.version().try_get()),
            move |_| entity_tags(kind.to_owned(), entity.clone()),
        )
    };
    let add_entity = entity.clone();
    let remove_pending = remove.pending();
    let add_pending = add.pending();
    view! {
        <section class="panel" aria-labelledby="tags-heading">
            <h2 id="tags-heading">"Tags"</h2>
            <p class="help">
                "Key-value pairs to organize, track or control access to this " {kind}
                ". Up to 50; adding a key that is there changes its value."
            </p>
            {action_error(remove.value())}
            {action_error(add.value())}
            <Transition fallback=|| view! { <p class="loading">"Loading tags…"</p> }>
                {move || Suspend::new(async move {
                    match tags.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{format!("This {kind} has no tags.")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="data">
                                    <caption class="visually-hidden">"Tags"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                            <th scope="col">"Key"</th>
                                            <th scope="col">"Value"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list.into_iter().enumerate().map(|(row, tag)| view! {
                                            <tr>
                                                <RowCheckbox form=REMOVE_FORM row name=tag.key.clone() />
                                                <td data-label="Key">{tag.key}</td>
                                                <td data-label="Value">{tag.value}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=remove attr:id=REMOVE_FORM>
                <input type="hidden" name="entity_kind" value=kind />
                <input type="hidden" name="entity_name" value=entity />
                <button type="submit" class="button" disabled=move || remove_pending.try_get().unwrap_or(false)>
                    "Remove selected tags"
                </button>
            </ActionForm>
            <ActionForm action=add attr:class="inline-form">
                <input type="hidden" name="entity_kind" value=kind />
                <input type="hidden" name="entity_name" value=add_entity />
                <div class="field">
                    <label for="new-tag-key">"Tag key"</label>
                    <input id="new-tag-key" name="tags[0][key]" type="text" required maxlength="128" autocomplete="off" />
                </div>
                <div class="field">
                    <label for="new-tag-value">"Tag value " <span class="optional">"- optional"</span></label>
                    <input id="new-tag-value" name="tags[0][value]" type="text" maxlength="256" autocomplete="off" />
                </div>
                <button type="submit" class="button" disabled=move || add_pending.try_get().unwrap_or(false)>"Add tag"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Tag rows of a create form, sent as `tags[i][key]` and `tags[i][value]`: one to start, more
/// added (up to AWS's 50) once the page is interactive.
#[component]
pub fn TagRows() -> impl IntoView {
    let rows = RwSignal::new(vec![0_usize]);
    let next = RwSignal::new(1_usize);
    // The buttons need the wasm: hidden until the page is interactive.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    view! {
        <div class="tags">
            <For each=move || rows.get() key=|i| *i let:i>
                <div class="tag-row">
                    <input name=format!("tags[{i}][key]") type="text" placeholder="Key" aria-label="Tag key" maxlength="128" />
                    <input name=format!("tags[{i}][value]") type="text" placeholder="Value" aria-label="Tag value" maxlength="256" />
                    <button type="button" class="button link" hidden=move || !interactive.get()
                        on:click=move |_| rows.update(|r| r.retain(|x| *x != i))>"Remove"</button>
                </div>
            </For>
            <button
                type="button"
                class="button"
                hidden=move || !interactive.get()
                disabled=move || rows.with(|r| r.len() >= 50)
                on:click=move |_| {
                    let i = next.get_untracked();
                    next.set(i + 1);
                    rows.update(|r| r.push(i));
                }
            >
                "Add new tag"
            </button>
        </div>
    }
}
