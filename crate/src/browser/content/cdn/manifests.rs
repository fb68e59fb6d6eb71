//! The site manifests a page uses, each fetched from its origin once and shared by every
//! `peer.fetch` that needs it. A failed load is tried again on a fetch [`RETRY_AFTER`] later.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

use super::origin::get_text;
use crate::browser::js::clock::now;
use crate::cdn::manifest::Manifest;

/// How long a manifest that could not be loaded is not asked for again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

type Loading = Shared<LocalBoxFuture<'static, Result<Rc<Manifest>, String>>>;

/// Manifests by URL, with when each load started.
#[derive(Default)]
pub(crate) struct Manifests {
    loaded: RefCell<HashMap<String, (Loading, Duration)>>,
}

impl Manifests {
    /// The manifest at `url`, fetched on first use.
    pub(crate) async fn get(&self, url: &str) -> Result<Rc<Manifest>, String> {
        let now = now();
        let loading = {
            let mut loaded = self.loaded.borrow_mut();
            let stale = loaded.get(url).is_some_and(|(loading, started)| {
                matches!(loading.peek(), Some(Err(_))) && now >= *started + RETRY_AFTER
            });
            if stale {
                loaded.remove(url);
            }
            loaded
                .entry(url.to_owned())
                .or_insert_with(|| (load(url.to_owned()).boxed_local().shared(), now))
                .0
                .clone()
        };
        loading.await
    }
}

async fn load(url: String) -> Result<Rc<Manifest>, String> {
    let text = get_text(&url).await?;
    let manifest = Manifest::parse(text.as_bytes()).map_err(|e| format!("manifest {url}: {e}"))?;
    tracing::info!(%url, resources = manifest.len(), "site manifest loaded");
    Ok(Rc::new(manifest))
}
