//! The site manifests a page uses, each fetched from its origin (never from a cache) and shared
//! by every `peer.fetch` that needs it. A manifest is fetched again once it is [`MAX_AGE`] old,
//! or at once after the origin sent bytes it does not name (the site was deployed again); a
//! failed load is tried again on a fetch [`RETRY_AFTER`] later.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

use super::origin::get_text;
use crate::browser::js::clock::now;
use crate::cdn::manifest::Manifest;

/// How long a loaded manifest is used before it is fetched again.
const MAX_AGE: Duration = Duration::from_secs(60);
/// How long a manifest that could not be loaded is not asked for again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// A manifest as loaded, and which version of it that is.
pub(crate) struct SiteManifest {
    /// What it names.
    pub(crate) entries: Manifest,
    /// A digest of its bytes ([`manifest_version`]): pages of the site with the same version
    /// agree on every resource.
    pub(crate) version: String,
}

type Loading = Shared<LocalBoxFuture<'static, Result<Rc<SiteManifest>, String>>>;

/// Manifests by URL, with when each load started.
#[derive(Default)]
pub(crate) struct Manifests {
    loaded: RefCell<HashMap<String, (Loading, Duration)>>,
}

impl Manifests {
    /// The manifest at `url`, fetched on first use and again when it is old.
    pub(crate) async fn get(&self, url: &str) -> Result<Rc<SiteManifest>, String> {
        let now = now();
        let loading = {
            let mut loaded = self.loaded.borrow_mut();
            let stale = loaded.get(url).is_some_and(|(loading, started)| {
                let max_age = match loading.peek() {
                    None => return false,
                    Some(Ok(_)) => MAX_AGE,
                    Some(Err(_)) => RETRY_AFTER,
                };
                now >= *started + max_age
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

    /// Forgets the manifest at `url` if it is `version`, so the next use fetches it again.
    pub(crate) fn invalidate(&self, url: &str, version: &str) {
        let mut loaded = self.loaded.borrow_mut();
        let current = loaded
            .get(url)
            .and_then(|(loading, _)| loading.peek().cloned())
            .is_some_and(|m| m.is_ok_and(|m| m.version == version));
        if current {
            loaded.remove(url);
        }
    }
}

async fn load(url: String) -> Result<Rc<SiteManifest>, String> {
    let text = get_text(&url).await?;
    let entries = Manifest::parse(text.as_bytes()).map_err(|e| format!("manifest {url}: {e}"))?;
    let version = manifest_version(text.as_bytes());
    tracing::info!(%url, %version, resources = entries.len(), "site manifest loaded");
    Ok(Rc::new(SiteManifest { entries, version }))
}

/// The first 16 hex digits of the SHA-256 of a manifest's bytes. `www/peerfetch-cdn.js` computes
/// the same with WebCrypto for a page whose peer has not started, so the service worker can tell
/// which pages agree.
fn manifest_version(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
