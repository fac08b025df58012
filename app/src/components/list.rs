//! The console's lists, as AWS's console has them: a filter box, sortable columns, pages, and
//! checkboxes for bulk actions, with the whole state in the URL's query (`filter`, `sort`,
//! `desc`, `page`), so a reload or a shared link shows the same page. Filtering, sorting and
//! paging happen on the server ([`ListPage::of`]); the browser only follows links and submits
//! forms, so every list works before the wasm arrives.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};

/// Rows on one page of a list, unless another size is chosen.
pub const PAGE_SIZE: usize = 20;

/// What a list shows: the filter text, the sort column and direction, and the page (from 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListState {
    #[serde(default)]
    pub filter: String,
    /// The column key, as the page names it; empty for the page's default order.
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub desc: bool,
    #[serde(default)]
    pub page: usize,
    /// Rows a page, one of [`PAGE_SIZES`]; 0 for the list's default.
    #[serde(default)]
    pub size: usize,
    /// The page's own filters besides the text (the policies' type and use), as query pairs,
    /// kept in every link the list makes. Set by the page, which knows their names.
    #[serde(default)]
    pub facets: Vec<(String, String)>,
}

/// The page sizes a person can choose, as AWS's console preferences offer them.
pub const PAGE_SIZES: [usize; 3] = [20, 50, 100];

impl ListState {
    /// The state in a page's query; anything unreadable is the default.
    pub fn from_query(query: &ParamsMap) -> ListState {
        ListState {
            // `search`: what the users list called its filter before.
            filter: query.get("filter").or_else(|| query.get("search")).unwrap_or_default(),
            sort: query.get("sort").unwrap_or_default(),
            desc: query.get("desc").is_some_and(|d| d == "1" || d == "true"),
            page: query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1),
            size: query
                .get("size")
                .and_then(|s| s.parse().ok())
                .filter(|s| PAGE_SIZES.contains(s) && *s != PAGE_SIZE)
                .unwrap_or(0),
            facets: Vec::new(),
        }
    }

    /// The page at `base` showing this state; only what differs from the default is written.
    pub fn href(&self, base: &str) -> String {
        let mut params: Vec<String> = self
            .facets
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        if !self.filter.is_empty() {
            params.push(format!("filter={}", urlencode(&self.filter)));
        }
        if !self.sort.is_empty() {
            params.push(format!("sort={}", urlencode(&self.sort)));
        }
        if self.desc {
            params.push("desc=1".to_owned());
        }
        if self.page > 1 {
            params.push(format!("page={}", self.page));
        }
        if self.size != 0 && self.size != PAGE_SIZE {
            params.push(format!("size={}", self.size));
        }
        if params.is_empty() { base.to_owned() } else { format!("{base}?{}", params.join("&")) }
    }

    /// Sorted by `column`: ascending first, the other way when it already sorts by it. Back to
    /// the first page, as the rows change.
    pub fn sorted_by(&self, column: &str) -> ListState {
        let desc = self.sort == column && !self.desc;
        ListState { sort: column.to_owned(), desc, page: 1, ..self.clone() }
    }

    pub fn at_page(&self, page: usize) -> ListState {
        ListState { page, ..self.clone() }
    }

    /// Rows a page: the chosen size, else the default.
    pub fn page_size(&self) -> usize {
        if PAGE_SIZES.contains(&self.size) { self.size } else { PAGE_SIZE }
    }

    #[cfg(feature = "ssr")]
    /// Whether `text` passes the filter: it contains the filter's text, ignoring case.
    pub fn matches(&self, text: &str) -> bool {
        let filter = self.filter.trim();
        filter.is_empty() || text.to_lowercase().contains(&filter.to_lowercase())
    }
}

/// One page of a list, with where it stands among the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Rows that pass the filter, on every page.
    pub total: usize,
    /// The page shown, from 1 (the last one when the asked one is past the end).
    pub page: usize,
    pub pages: usize,
}

#[cfg(feature = "ssr")]
impl<T> ListPage<T> {
    /// The page `state` asks for of `rows`, which are already filtered and sorted.
    pub fn of(rows: Vec<T>, state: &ListState) -> ListPage<T> {
        let total = rows.len();
        let size = state.page_size();
        let pages = total.div_ceil(size).max(1);
        let page = state.page.clamp(1, pages);
        let items = rows.into_iter().skip((page - 1) * size).take(size).collect();
        ListPage { items, total, page, pages }
    }
}

/// Sorts `rows` for `state`: by the key `key` gives for its column (the page's default order
/// for a column it does not know), reversed when `desc`. Ties keep the order the rows came in.
#[cfg(feature = "ssr")]
pub fn sort_rows<T, K: Ord>(rows: &mut [T], state: &ListState, key: impl Fn(&T, &str) -> K) {
    if state.desc {
        rows.sort_by_key(|row| std::cmp::Reverse(key(row, &state.sort)));
    } else {
        rows.sort_by_key(|row| key(row, &state.sort));
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The filter box: a search form that keeps the sort and starts again at the first page.
#[component]
pub fn ListFilter(
    /// The list's path, where the form goes.
    base: &'static str,
    state: ListState,
    /// What is searched, for the label ("Filter groups by name").
    label: &'static str,
    #[prop(into)] placeholder: String,
) -> impl IntoView {
    let sort = (!state.sort.is_empty()).then(|| state.sort.clone());
    view! {
        <form class="search" method="get" action=base role="search">
            <label for="list-filter" class="visually-hidden">{label}</label>
            <input id="list-filter" name="filter" type="search" placeholder=placeholder value=state.filter.clone() />
            {sort.map(|s| view! { <input type="hidden" name="sort" value=s /> })}
            {state.desc.then(|| view! { <input type="hidden" name="desc" value="1" /> })}
            {(state.size != 0).then(|| view! { <input type="hidden" name="size" value=state.size.to_string() /> })}
            <button type="submit" class="button">"Search"</button>
        </form>
    }
}

/// A column header that sorts the list by its column, with `aria-sort` telling which way.
/// `default`: the list is in this column's order, ascending, when the URL names no sort.
#[component]
pub fn SortHeader(
    base: &'static str,
    state: ListState,
    column: &'static str,
    label: &'static str,
    #[prop(optional)] default: bool,
) -> impl IntoView {
    let state = if state.sort.is_empty() && default { ListState { sort: column.to_owned(), ..state } } else { state };
    let active = state.sort == column;
    let (aria, arrow) = match (active, state.desc) {
        (true, false) => ("ascending", " ▲"),
        (true, true) => ("descending", " ▼"),
        _ => ("none", ""),
    };
    let href = state.sorted_by(column).href(base);
    view! {
        <th scope="col" aria-sort=aria>
            <a href=href class="sort">{label}<span aria-hidden="true">{arrow}</span></a>
        </th>
    }
}

/// The links to the other pages of a list, and which page this is.
#[component]
pub fn Pager(base: &'static str, state: ListState, page: usize, pages: usize, total: usize) -> impl IntoView {
    let previous = (page > 1).then(|| state.at_page(page - 1).href(base));
    let next = (page < pages).then(|| state.at_page(page + 1).href(base));
    let shown = state.page_size();
    let sizes = PAGE_SIZES
        .iter()
        .map(|&size| {
            let label = format!("{size} rows");
            if size == shown {
                view! { <li><span aria-current="true">{label}</span></li> }.into_any()
            } else {
                let href = ListState { size, page: 1, ..state.clone() }.href(base);
                view! { <li><a href=href>{label}</a></li> }.into_any()
            }
        })
        .collect_view();
    view! {
        <nav class="pager" aria-label="Pages">
            {previous.map(|href| view! { <a class="button" href=href>"Previous page"</a> })}
            <span>{format!("Page {page} of {pages} ({total} in all)")}</span>
            {next.map(|href| view! { <a class="button" href=href>"Next page"</a> })}
            <ul class="page-sizes" aria-label="Rows per page">{sizes}</ul>
        </nav>
    }
}

/// A row's checkbox for the bulk form `form` (an id): checked rows are sent as `field[i]`
/// (`names[i]` unless said otherwise).
#[component]
pub fn RowCheckbox(
    form: &'static str,
    row: usize,
    name: String,
    #[prop(default = "names")] field: &'static str,
    /// What the checkbox is read as, when `name` (the value sent) is not words: `Select user pat`.
    #[prop(optional, into)]
    label: Option<String>,
) -> impl IntoView {
    let label = label.unwrap_or_else(|| format!("Select {name}"));
    view! {
        <td class="select">
            <input type="checkbox" form=form name=format!("{field}[{row}]") value=name aria-label=label />
        </td>
    }
}

/// The names a bulk delete reported in the query (`deleted=...`), shown in the success bar only
/// after the delete the server answered with `done` (`done_code`), and only when every one is a
/// name IAM allows: a crafted link cannot put other words in a success bar.
pub fn deleted_names(query: &ParamsMap, done_code: &str) -> Vec<String> {
    let done = query.get("done").as_deref() == Some(done_code);
    let names = query.get_all("deleted").unwrap_or_default();
    if done && names.iter().all(|n| crate::paths::is_iam_name(n)) { names } else { Vec::new() }
}

/// The success bar of a bulk delete: `Groups deleted: a, b.` (`one` and `many` name the kind).
pub fn deleted_bar(names: Vec<String>, one: &'static str, many: &'static str) -> Option<impl IntoView> {
    (!names.is_empty()).then(|| {
        let what = if names.len() == 1 { one } else { many };
        view! { <div class="alert success" role="status">{format!("{what} deleted: {}.", names.join(", "))}</div> }
    })
}

/// The inside of a list's bulk-delete form: a disclosure saying what deleting does, the field
/// where `delete` is typed, and the button. `what` is the kind, plural (`groups`).
#[component]
pub fn BulkDeleteFields(what: &'static str, explanation: &'static str, pending: Signal<bool>) -> impl IntoView {
    view! {
        <details>
            <summary class="button">{format!("Delete selected {what}")}</summary>
            <p>{explanation}</p>
            <div class="field">
                <label for="bulk-confirmation">"To confirm deletion, enter delete."</label>
                <input id="bulk-confirmation" name="confirmation" type="text" autocomplete="off" placeholder="delete" />
            </div>
            <button type="submit" class="button danger" disabled=move || pending.try_get().unwrap_or(false)>"Delete"</button>
        </details>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn state(query: &str) -> ListState {
        let mut map = ParamsMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(k.to_owned(), v.to_owned());
        }
        ListState::from_query(&map)
    }

    #[test]
    fn the_state_goes_to_the_url_and_back() {
        let s =
            ListState { filter: "a b&c".into(), sort: "created".into(), desc: true, page: 3, ..ListState::default() };
        assert_eq!(s.href("/groups"), "/groups?filter=a%20b%26c&sort=created&desc=1&page=3");
        assert_eq!(ListState::default().href("/groups"), "/groups");
        // A page's own filters ride along; an empty one is not written.
        let facets = vec![("type".to_owned(), "aws".to_owned()), ("used".to_owned(), String::new())];
        let f = ListState { facets, page: 2, ..ListState::default() };
        assert_eq!(f.sorted_by("type").href("/policies"), "/policies?type=aws&sort=type");
        assert_eq!(f.href("/policies"), "/policies?type=aws&page=2");
        assert_eq!(state("sort=created&desc=1&page=3").href("/g"), "/g?sort=created&desc=1&page=3");
        // Junk is the default, never an error.
        assert_eq!(state("page=-4&desc=maybe"), ListState { page: 1, ..ListState::default() });
        assert_eq!(state("page=0").page, 1);
        // Only the sizes offered: another number is the default, not a page of a million rows.
        assert_eq!(state("size=100").href("/users"), "/users?size=100");
        assert_eq!(state("size=100").page_size(), 100);
        assert_eq!(state("size=1000000").page_size(), PAGE_SIZE);
        // The server function builds the state from its own arguments: the size is bounded there too.
        assert_eq!(ListState { size: 1_000_000, ..ListState::default() }.page_size(), PAGE_SIZE);
        assert_eq!(state("size=20").href("/users"), "/users", "the default size is not written");
        assert_eq!(state("search=bob").filter, "bob", "old links keep their filter");
    }

    #[test]
    fn sorting_toggles_and_returns_to_the_first_page() {
        let s = ListState { page: 4, ..ListState::default() };
        let by_name = s.sorted_by("name");
        assert_eq!((by_name.sort.as_str(), by_name.desc, by_name.page), ("name", false, 1));
        assert!(by_name.sorted_by("name").desc);
        assert!(!by_name.sorted_by("name").sorted_by("name").desc);
        assert!(!by_name.sorted_by("name").sorted_by("created").desc);
    }

    #[test]
    fn pages_are_cut_on_the_server_and_clamped() {
        let rows: Vec<usize> = (0..45).collect();
        let first = ListPage::of(rows.clone(), &ListState::default());
        assert_eq!((first.items.len(), first.total, first.page, first.pages), (PAGE_SIZE, 45, 1, 3));
        let fifty = ListPage::of(rows.clone(), &ListState { size: 50, ..ListState::default() });
        assert_eq!((fifty.items.len(), fifty.pages), (45, 1));
        let last = ListPage::of(rows.clone(), &ListState { page: 9, ..ListState::default() });
        assert_eq!((last.page, last.items.first().copied(), last.items.len()), (3, Some(40), 5));
        let none = ListPage::of(Vec::<usize>::new(), &ListState::default());
        assert_eq!((none.total, none.page, none.pages), (0, 1, 1));
    }

    #[test]
    fn rows_sort_by_the_chosen_column_and_filter_ignoring_case() {
        let mut rows = vec![("b", 1), ("a", 3), ("c", 2)];
        let key =
            |r: &(&str, i32), column: &str| if column == "n" { (r.1, String::new()) } else { (0, r.0.to_owned()) };
        sort_rows(&mut rows, &ListState::default(), key);
        assert_eq!(rows, [("a", 3), ("b", 1), ("c", 2)]);
        sort_rows(&mut rows, &ListState { sort: "n".into(), desc: true, ..ListState::default() }, key);
        assert_eq!(rows, [("a", 3), ("c", 2), ("b", 1)]);
        // Ties keep their order either way.
        let mut ties = vec![("x", 1), ("y", 1), ("z", 0)];
        sort_rows(&mut ties, &ListState { sort: "n".into(), desc: true, ..ListState::default() }, key);
        assert_eq!(ties, [("x", 1), ("y", 1), ("z", 0)]);
        let filter = ListState { filter: " Dev ".into(), ..ListState::default() };
        assert!(filter.matches("Developers") && !filter.matches("Admins"));
    }
}
