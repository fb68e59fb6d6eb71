//! Events the page listens to on `peer.events` (an `EventTarget`), each a `CustomEvent` whose
//! `detail` is a plain object:
//!
//! - `connection` `{ peer, transport, direction }`: a connection opened;
//! - `disconnection` `{ peer, transport, direction }`: a connection closed;
//! - `ping` `{ peer, rttMs }`: a ping to the server came back;
//! - `reservation` `{ relay }`: the relay reservation was accepted (or renewed);
//! - `close` `{}`: the peer stopped (after `close()`).

use crate::browser::js::value::to_plain_js;
use serde::Serialize;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

/// Dispatches `name` with `detail` on `target`; a page listener that throws does not stop us.
pub(crate) fn dispatch(target: &EventTarget, name: &str, detail: &impl Serialize) {
    let detail = to_plain_js(detail).unwrap_or(wasm_bindgen::JsValue::NULL);
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    match CustomEvent::new_with_event_init_dict(name, &init) {
        Ok(event) => {
            let _ = target.dispatch_event(&event);
        }
        Err(e) => tracing::warn!(name, "cannot create event: {e:?}"),
    }
}
