//! `peer.fetch(url, init)`: resources the site's manifest covers come from this tab's store,
//! from peers, or from the origin — verified against the manifest — and anything else (or
//! anything that goes wrong) goes to the network as a plain `fetch` would. Every resource
//! obtained is counted in the offload stats and announced with a `fetched` event.

mod acquire;
mod early;
mod manifests;
mod origin;
mod response;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use event_listener::Event;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use serde_json::json;
use wasm_bindgen::JsValue;
use web_sys::{EventTarget, Request, Response, Url};

use crate::browser::content::service::{Request as ServiceRequest, ServiceHandle};
use crate::browser::content::store::ContentStore;
use crate::browser::js::clock::now;
use crate::browser::js::events::dispatch;
use crate::cdn::manifest::ManifestEntry;
use crate::cdn::offload_stats::{OffloadStats, Source};
use crate::content::content_id::ContentId;
use acquire::{obtain, Obtained};
use manifests::SiteManifest;
pub(crate) use origin::pass_through;
use response::respond;

type Obtaining = Shared<LocalBoxFuture<'static, Result<Obtained, String>>>;

/// How a page offloads a site: where its manifest is and how long peers get.
#[derive(Debug, Clone)]
pub(crate) struct CdnConfig {
    /// Absolute URL of the site's manifest.
    pub(crate) manifest_url: String,
    /// Fall back to the origin when peers deliver nothing for this long.
    pub(crate) peer_timeout: Duration,
    /// Load the manifest when the peer starts (the page named one), not on first use.
    pub(crate) preload: bool,
}

/// The page's CDN side.
pub(crate) struct Cdn {
    store: Rc<ContentStore>,
    service: ServiceHandle,
    events: EventTarget,
    config: CdnConfig,
    manifests: manifests::Manifests,
    /// Resources being obtained, shared by every fetch of them meanwhile.
    obtaining: RefCell<HashMap<ContentId, Obtaining>>,
    /// Resources being obtained whose peers gave up: the rest comes from the origin.
    from_origin: RefCell<HashSet<ContentId>>,
    stats: RefCell<OffloadStats>,
    /// When bytes of any resource last came from peers.
    peer_activity: Rc<Cell<Duration>>,
    /// Notified whenever a resource being obtained moves on: a piece of it verified, its
    /// download asked for, its peers given up on. Early range answers wait on it.
    changed: Rc<Event>,
    /// Resources whose stored pieces were all checked in this page.
    verified: RefCell<HashSet<ContentId>>,
    /// The version of the manifest in use.
    version: RefCell<Option<String>>,
}

/// What the manifest says of a request it covers.
struct Covered {
    /// The URL's path, the manifest's key.
    path: String,
    /// The resource there.
    entry: ManifestEntry,
    /// The manifest's version.
    version: String,
}

/// Resources remembered as checked; past it the set starts afresh (they are checked again).
const MAX_VERIFIED: usize = 4096;

impl Cdn {
    /// The CDN side of a page whose content service is `service`.
    pub(crate) fn new(
        store: Rc<ContentStore>,
        service: ServiceHandle,
        events: EventTarget,
        config: CdnConfig,
    ) -> Rc<Self> {
        let cdn = Rc::new(Self {
            store,
            service,
            events,
            config,
            manifests: manifests::Manifests::default(),
            obtaining: RefCell::new(HashMap::new()),
            from_origin: RefCell::new(HashSet::new()),
            stats: RefCell::new(OffloadStats::default()),
            peer_activity: Rc::new(Cell::new(Duration::ZERO)),
            changed: Rc::new(Event::new()),
            verified: RefCell::new(HashSet::new()),
            version: RefCell::new(None),
        });
        if cdn.config.preload {
            let cdn = cdn.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = cdn.manifest().await {
                    tracing::warn!("no site manifest yet: {e}");
                }
            });
        }
        cdn
    }

    /// Answers `request` (see the module docs).
    pub(crate) async fn fetch(self: Rc<Self>, request: Request) -> Result<Response, JsValue> {
        let Some(covered) = self.covered(&request).await else {
            return pass_through(&request).await;
        };
        let range = request.headers().get("range")?;
        if let Some(header) = range.as_deref() {
            if let Some(early) = early::answer(&self, &request, &covered, header).await {
                return Ok(early);
            }
        }
        let Covered {
            path,
            entry,
            version,
        } = covered;
        match self.obtaining(request.url(), path, entry.clone()).await {
            Ok(obtained) => respond(
                &obtained.blob,
                &entry.content_type,
                range.as_deref(),
                &source_label(&obtained.bytes),
            ),
            Err(e) => self.answer_as_origin_does(&request, &version, &e).await,
        }
    }

    /// Answers `request` as the origin does, the resource of manifest `version` having failed
    /// with `error`.
    async fn answer_as_origin_does(
        &self,
        request: &Request,
        version: &str,
        error: &str,
    ) -> Result<Response, JsValue> {
        tracing::warn!(url = %request.url(), "from the origin as is: {error}");
        // The site may have been deployed again: the next fetch reads its manifest anew.
        self.manifests
            .invalidate(&self.config.manifest_url, version);
        pass_through(request).await
    }

    /// Whether every stored piece of `id` was checked in this page.
    pub(crate) fn was_verified(&self, id: &ContentId) -> bool {
        self.verified.borrow().contains(id)
    }

    /// Every stored piece of `id` passed its check.
    pub(crate) fn verified(&self, id: ContentId) {
        let mut verified = self.verified.borrow_mut();
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(id);
    }

    /// Whether `fetch` would look for `request` among peers (the manifest covers it).
    pub(crate) async fn covers(&self, request: &Request) -> bool {
        self.covered(request).await.is_some()
    }

    /// The offload stats so far.
    pub(crate) fn stats(&self) -> OffloadStats {
        self.stats.borrow().clone()
    }

    /// What the manifest says of `request`, if it covers it. The manifest names paths without
    /// a query: a URL with one (`app.js?v=2`) may be another resource, so it is not covered.
    async fn covered(&self, request: &Request) -> Option<Covered> {
        if request.method() != "GET" {
            return None;
        }
        let url = Url::new(&request.url()).ok()?;
        let manifest_url = Url::new(&self.config.manifest_url).ok()?;
        if url.origin() != manifest_url.origin() || !url.search().is_empty() {
            return None;
        }
        let manifest = match self.manifest().await {
            Ok(manifest) => manifest,
            Err(e) => {
                tracing::debug!("no manifest: {e}");
                return None;
            }
        };
        let path = url.pathname();
        let entry = manifest.entries.get(&path)?.clone();
        Some(Covered {
            path,
            entry,
            version: manifest.version.clone(),
        })
    }

    /// The site's manifest. A version this page had not used yet is announced with a
    /// `manifest` event, and what the store holds of it is served to peers again.
    async fn manifest(&self) -> Result<Rc<SiteManifest>, String> {
        let manifest = self.manifests.get(&self.config.manifest_url).await?;
        let new = self.version.borrow().as_deref() != Some(manifest.version.as_str());
        if new {
            *self.version.borrow_mut() = Some(manifest.version.clone());
            let detail = json!({ "url": self.config.manifest_url, "version": manifest.version });
            dispatch(&self.events, "manifest", &detail);
            let ids = manifest.entries.iter().map(|(_, e)| e.cid).collect();
            let service = self.service.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = service.ask(ServiceRequest::Serve(ids)).await;
            });
        }
        Ok(manifest)
    }

    /// Obtaining a resource, once however many fetches ask for it meanwhile; it is counted
    /// and announced when done.
    fn obtaining(self: &Rc<Self>, url: String, path: String, entry: ManifestEntry) -> Obtaining {
        let id = entry.cid;
        let existing = self.obtaining.borrow().get(&id).cloned();
        let obtaining = match existing {
            Some(obtaining) => obtaining,
            None => {
                let cdn = self.clone();
                let started = now();
                let obtaining = async move {
                    let result = obtain(cdn.clone(), url.clone(), entry).await;
                    cdn.obtaining.borrow_mut().remove(&id);
                    cdn.from_origin.borrow_mut().remove(&id);
                    if let Ok(obtained) = &result {
                        cdn.record(&url, &path, id, obtained, now().saturating_sub(started));
                    }
                    result
                }
                .boxed_local()
                .shared();
                self.obtaining.borrow_mut().insert(id, obtaining.clone());
                obtaining
            }
        };
        obtaining
    }

    /// The peers of `id` gave up: what is missing comes from the origin.
    fn peers_gave_up(&self, id: ContentId) {
        self.from_origin.borrow_mut().insert(id);
        self.changed.notify(usize::MAX);
    }

    /// Whether what is missing of `id` is coming from the origin.
    fn is_from_origin(&self, id: &ContentId) -> bool {
        self.from_origin.borrow().contains(id)
    }

    fn record(&self, url: &str, path: &str, id: ContentId, obtained: &Obtained, took: Duration) {
        let cid = id.to_string();
        self.stats
            .borrow_mut()
            .record(path, &cid, &obtained.bytes, obtained.peers.iter().cloned());
        let count = |source| {
            obtained
                .bytes
                .iter()
                .filter(|(s, _)| *s == source)
                .map(|(_, n)| n)
                .sum::<u64>()
        };
        let detail = json!({
            "url": url,
            "path": path,
            "cid": cid,
            "fromPeers": count(Source::Peers),
            "fromOrigin": count(Source::Origin),
            "fromStore": count(Source::Store),
            "peers": obtained.peers,
            "ms": took.as_secs_f64() * 1000.0,
        });
        dispatch(&self.events, "fetched", &detail);
    }

    /// Peers that sent this tab some of `id`.
    fn peers_that_sent(&self, id: &ContentId) -> Vec<String> {
        let cid = id.to_string();
        self.service
            .transfers
            .borrow()
            .iter()
            .filter(|t| t.cid() == cid)
            .flat_map(|t| t.suppliers())
            .collect()
    }
}

/// `peers`, `origin`, `store`, or the sources that gave bytes joined with `+`.
fn source_label(bytes: &[(Source, u64)]) -> String {
    let names: Vec<&str> = bytes
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(source, _)| match source {
            Source::Peers => "peers",
            Source::Origin => "origin",
            Source::Store => "store",
        })
        .collect();
    if names.is_empty() {
        "store".to_owned()
    } else {
        names.join("+")
    }
}
