//! Which landlord the visitor is looking at, shared by every part of the page.
//!
//! The choice, in order: `?org=<slug>` in the address, else the one remembered in this
//! browser, else the first organisation that is not part of another (a group's parent).
//! A slug that names no landlord falls back to that default and says so.

use std::fmt;

use doorstep_shared::dto::Organisation;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{ApiClient, ApiError, Slug};

/// Where the last landlord a visitor looked at is remembered.
const STORAGE_KEY: &str = "doorstep.organisation";

/// The landlord being shown, and the slug that was asked for if it named nobody.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub org: Organisation,
    pub unknown_slug: Option<String>,
}

/// Why no landlord can be shown.
#[derive(Debug, Clone, PartialEq)]
pub enum LandlordError {
    Api(ApiError),
    /// The API answered, but lists no organisations at all.
    NoneSetUp,
}

impl From<ApiError> for LandlordError {
    fn from(error: ApiError) -> Self {
        LandlordError::Api(error)
    }
}

impl fmt::Display for LandlordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LandlordError::Api(error) => error.fmt(f),
            LandlordError::NoneSetUp => f.write_str("This portal has no landlords set up yet."),
        }
    }
}

impl std::error::Error for LandlordError {}

#[derive(Clone, Copy)]
pub struct LandlordContext {
    pub current: LocalResource<Result<Current, LandlordError>>,
    pub all: LocalResource<Result<Vec<Organisation>, ApiError>>,
    /// The landlord remembered in this browser, if any.
    remembered: RwSignal<Option<String>>,
}

impl LandlordContext {
    /// Creates the landlord resources and puts them in context. Call once, inside the router.
    pub fn provide() -> Self {
        let query = use_query_map();
        let remembered = RwSignal::new(remembered_slug());
        let wanted =
            Memo::new(move |_| query.read().get("org").filter(|slug| !slug.is_empty()).or_else(|| remembered.get()));

        let all = LocalResource::new(|| async { ApiClient::default().all_organisations().await });
        let current = LocalResource::new(move || {
            let wanted = wanted.get();
            async move { resolve(wanted, all).await }
        });

        // Remember a landlord chosen in the address once the API has confirmed it, and forget a
        // remembered slug that no longer names anyone. (The default needs no remembering.)
        Effect::new(move || {
            let Some(Ok(shown)) = current.get() else { return };
            if let Some(unknown) = shown.unknown_slug {
                if remembered.get_untracked().as_ref() == Some(&unknown) {
                    forget_slug();
                    remembered.set(None);
                }
            } else if query.with_untracked(|q| q.get_str("org") == Some(shown.org.slug.as_str()))
                && remembered.get_untracked().as_ref() != Some(&shown.org.slug)
            {
                remember_slug(&shown.org.slug);
                remembered.set(Some(shown.org.slug));
            }
        });

        let context = LandlordContext { current, all, remembered };
        provide_context(context);
        context
    }

    pub fn expect() -> Self {
        expect_context::<LandlordContext>()
    }

    /// The landlord being shown, once loaded (tracked).
    pub fn org(&self) -> Option<Organisation> {
        self.current.get().and_then(Result::ok).map(|current| current.org)
    }

    /// Shows (and remembers) the signed-in person's own landlord, unless the address names
    /// one with `?org=`.
    pub fn adopt(&self, slug: &str) {
        if Slug::parse(slug).is_none() || self.remembered.get_untracked().as_deref() == Some(slug) {
            return;
        }
        remember_slug(slug);
        self.remembered.set(Some(slug.to_owned()));
    }

    /// Asks the API again, after a failure.
    pub fn retry(&self) {
        self.all.refetch();
        self.current.refetch();
    }
}

async fn resolve(
    wanted: Option<String>,
    all: LocalResource<Result<Vec<Organisation>, ApiError>>,
) -> Result<Current, LandlordError> {
    if let Some(wanted) = wanted {
        if let Some(slug) = Slug::parse(&wanted) {
            match ApiClient::default().organisation(&slug).await {
                Ok(org) => return Ok(Current { org, unknown_slug: None }),
                Err(ApiError::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
        }
        let org = default_landlord(&all.await?)?;
        return Ok(Current { org, unknown_slug: Some(wanted) });
    }
    Ok(Current { org: default_landlord(&all.await?)?, unknown_slug: None })
}

/// The first organisation that has no parent; failing that, the first one there is.
fn default_landlord(all: &[Organisation]) -> Result<Organisation, LandlordError> {
    all.iter().find(|org| org.parent_slug.is_none()).or_else(|| all.first()).cloned().ok_or(LandlordError::NoneSetUp)
}

/// The organisations in the same group as `org`: its parent and all of the parent's
/// subsidiaries, or `org` and its own subsidiaries. Parent first, then by name.
pub fn group_of<'a>(org: &Organisation, all: &'a [Organisation]) -> Vec<&'a Organisation> {
    let root = org.parent_slug.as_deref().unwrap_or(&org.slug);
    let mut group: Vec<&Organisation> =
        all.iter().filter(|other| other.slug == root || other.parent_slug.as_deref() == Some(root)).collect();
    group.sort_by(|a, b| (a.slug != root, &a.name).cmp(&(b.slug != root, &b.name)));
    group
}

fn storage() -> Option<web_sys::Storage> {
    // Storage can be missing or refused (private browsing, blocked cookies); the app then just
    // does not remember.
    window().local_storage().ok().flatten()
}

fn remembered_slug() -> Option<String> {
    storage()?.get_item(STORAGE_KEY).ok().flatten().filter(|slug| Slug::parse(slug).is_some())
}

fn remember_slug(slug: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(STORAGE_KEY, slug);
    }
}

fn forget_slug() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}
