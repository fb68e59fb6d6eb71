//! [`Waiters`]: who in the page waits for a resource the service downloads: the promises to
//! settle, the progress callbacks (`{ bytes, total, bytesPerSecond, peers }`), and the cells
//! that watch for peers offering the resource and its bytes arriving.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use event_listener::Event;
use futures::channel::oneshot;
use js_sys::Function;
use serde_json::json;
use wasm_bindgen::JsValue;
use web_sys::Blob;

use crate::browser::js::value::to_plain_js;
use crate::error::PeerError;
use crate::swarm::progress::Progress;

/// Who waits for a download's `Blob`.
pub(crate) type DownloadReply = oneshot::Sender<Result<Blob, PeerError>>;

/// The cells a caller watches a download in (to decide when to stop waiting on peers).
#[derive(Default)]
pub(crate) struct Watch {
    /// Set to the time whenever verified bytes of the resource arrive.
    pub(crate) activity: Vec<Rc<Cell<Duration>>>,
    /// Set to the time whenever bytes of the resource arrive, verified or not.
    pub(crate) arriving: Vec<Rc<Cell<Duration>>>,
    /// Set once: when a peer first offered pieces the download lacks.
    pub(crate) offered: Option<Rc<Cell<Option<Duration>>>>,
    /// Notified whenever verified bytes of the resource arrive.
    pub(crate) verified: Vec<Rc<Event>>,
}

/// One caller waiting: its promise, its progress callback, the cells it watches.
struct Waiter {
    reply: DownloadReply,
    progress: Option<Function>,
    watch: Watch,
}

/// Everyone waiting for one resource.
#[derive(Default)]
pub(crate) struct Waiters {
    waiters: Vec<Waiter>,
}

impl Waiters {
    /// Adds a waiter, its progress callback (if given) and the cells it watches.
    pub(crate) fn add(&mut self, reply: DownloadReply, progress: Option<Function>, watch: Watch) {
        self.waiters.push(Waiter {
            reply,
            progress,
            watch,
        });
    }

    /// Forgets the waiters that stopped waiting (dropped their end of the reply); says whether
    /// anyone still waits.
    pub(crate) fn prune(&mut self) -> bool {
        self.waiters.retain(|w| !w.reply.is_canceled());
        !self.waiters.is_empty()
    }

    /// Notes that a piece of the resource arrived and was verified at `now`.
    pub(crate) fn touch(&self, now: Duration) {
        let watches = self.waiters.iter().map(|w| &w.watch);
        for cell in watches
            .clone()
            .flat_map(|w| w.activity.iter().chain(&w.arriving))
        {
            cell.set(now);
        }
        for event in watches.flat_map(|w| &w.verified) {
            event.notify(usize::MAX);
        }
    }

    /// Notes that bytes of the resource (part of a piece) arrived at `now`.
    pub(crate) fn arriving(&self, now: Duration) {
        for cell in self.waiters.iter().flat_map(|w| &w.watch.arriving) {
            cell.set(now);
        }
    }

    /// Notes that a peer offered pieces of the resource at `now` (kept if noted before).
    pub(crate) fn offered(&self, now: Duration) {
        for cell in self.waiters.iter().filter_map(|w| w.watch.offered.as_ref()) {
            if cell.get().is_none() {
                cell.set(Some(now));
            }
        }
    }

    /// Calls the progress callbacks.
    pub(crate) fn report(&self, progress: &Progress) {
        let detail = json!({
            "bytes": progress.bytes,
            "total": progress.total,
            "bytesPerSecond": progress.bytes_per_second,
            "peers": progress.peers,
        });
        let value = to_plain_js(&detail).unwrap_or(JsValue::NULL);
        for callback in self.waiters.iter().filter_map(|w| w.progress.as_ref()) {
            // A callback that throws does not stop the download.
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    }

    /// Every waiter gets `result` (a `Blob` is shared by reference).
    pub(crate) fn settle(self, result: Result<Blob, PeerError>) {
        for waiter in self.waiters {
            let _ = waiter.reply.send(result.clone());
        }
    }
}
