//! [`Fetch`]: a resource the page asked for, while it downloads: the swarm [`Download`], who
//! waits for the `Blob`, and the progress reports (`{ bytes, total, bytesPerSecond, peers }`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use js_sys::Function;
use libp2p::PeerId;
use serde_json::json;
use wasm_bindgen::JsValue;
use web_sys::Blob;

use super::js_value::to_plain_js;
use crate::content::piece_layout::PieceLayout;
use crate::swarm::download::Download;

/// Least time between two progress reports.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Who waits for a fetch's `Blob`.
pub(crate) type FetchReply = oneshot::Sender<Result<Blob, String>>;

/// A download the page waits for.
pub(crate) struct Fetch {
    pub(crate) download: Download<PeerId>,
    waiters: Vec<FetchReply>,
    progress: Vec<Function>,
    /// Told when bytes last arrived, for waiters that watch (see [`Fetch::touch`]).
    activity: Vec<Rc<Cell<Duration>>>,
    /// When bytes last arrived (or the page last asked).
    pub(crate) last_activity: Duration,
    /// When to ask the server for providers next.
    pub(crate) next_lookup: Duration,
    /// Whether the server answered a provider lookup yet.
    pub(crate) lookup_answered: bool,
    /// Provider lookups that failed since the last answer.
    pub(crate) lookup_failures: u32,
    /// Whether any provider was ever found.
    pub(crate) found_provider: bool,
    /// Give up when no provider turns up for this long (counted once a lookup was answered).
    pub(crate) not_found_after: Duration,
    /// Every piece verified; waiting for the last writes before handing out the `Blob`.
    pub(crate) finishing: bool,
    /// The `Blob` is being put together.
    pub(crate) assembling: bool,
    last_report: Option<(Duration, u64)>,
    rate: f64,
}

impl Fetch {
    /// A fetch driving `download`, started at `now`.
    pub(crate) fn new(download: Download<PeerId>, now: Duration) -> Self {
        Self {
            download,
            waiters: Vec::new(),
            progress: Vec::new(),
            activity: Vec::new(),
            last_activity: now,
            next_lookup: now,
            lookup_answered: false,
            lookup_failures: 0,
            found_provider: false,
            not_found_after: Duration::from_secs(15),
            finishing: false,
            assembling: false,
            last_report: None,
            rate: 0.0,
        }
    }

    /// Adds a waiter, its progress callback (if given) and the cells it watches activity in.
    pub(crate) fn wait(
        &mut self,
        reply: FetchReply,
        progress: Option<Function>,
        activity: Vec<Rc<Cell<Duration>>>,
    ) {
        self.waiters.push(reply);
        self.progress.extend(progress);
        self.activity.extend(activity);
    }

    /// Notes that bytes of the resource arrived at `now` (a piece, or part of one).
    pub(crate) fn touch(&mut self, now: Duration) {
        self.last_activity = now;
        for cell in &self.activity {
            cell.set(now);
        }
    }

    /// Verified bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        PieceLayout::of(self.download.id()).bytes_in(self.download.have())
    }

    /// Peers asked for pieces right now.
    pub(crate) fn serving_peers(&self) -> usize {
        self.download
            .peers()
            .filter(|(_, stats)| stats.open_requests > 0)
            .count()
    }

    /// Calls the progress callbacks, at most every [`REPORT_EVERY`] unless `force`.
    pub(crate) fn report(&mut self, now: Duration, force: bool) {
        let bytes = self.bytes();
        if let Some((at, before)) = self.last_report {
            let elapsed = now.saturating_sub(at);
            if elapsed < REPORT_EVERY && !force {
                return;
            }
            let sample = (bytes - before) as f64 / elapsed.as_secs_f64().max(1e-3);
            self.rate = if self.rate == 0.0 {
                sample
            } else {
                0.6 * self.rate + 0.4 * sample
            };
        }
        self.last_report = Some((now, bytes));
        let detail = json!({
            "bytes": bytes,
            "total": self.download.id().len(),
            "bytesPerSecond": self.rate.round(),
            "peers": self.serving_peers(),
        });
        let value = to_plain_js(&detail).unwrap_or(JsValue::NULL);
        for callback in &self.progress {
            // A callback that throws does not stop the download.
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    }

    /// Ends the fetch: every waiter gets `result` (a `Blob` is shared by reference).
    pub(crate) fn settle(self, result: Result<Blob, String>) {
        for waiter in self.waiters {
            let _ = waiter.send(result.clone());
        }
    }
}
