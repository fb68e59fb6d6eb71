//! `Peer`, the class the page uses.

use super::{
    echo, events::dispatch, fetch_bootstrap::js_message, join::join, join_options::JoinOptions,
    tab_node::Command, tab_state::TabState, throughput,
};
use futures::channel::{mpsc, oneshot};
use libp2p::PeerId;
use libp2p_stream::Control;
use std::{cell::RefCell, rc::Rc, sync::Once};
use wasm_bindgen::prelude::*;
use web_sys::EventTarget;

/// A tab in a peerfetch swarm.
#[wasm_bindgen]
pub struct Peer {
    id: String,
    state: Rc<RefCell<TabState>>,
    events: EventTarget,
    commands: mpsc::Sender<Command>,
    control: Control,
}

#[wasm_bindgen]
impl Peer {
    /// Joins the swarm through the server at `options.server` (default `location.origin`).
    /// Rejects with an `Error` naming the step that failed.
    pub async fn join(options: JsValue) -> Result<Peer, JsError> {
        let options: JoinOptions = if options.is_undefined() || options.is_null() {
            JoinOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("invalid join options: {e}")))?
        };
        install_logging(options.log_level().map_err(|e| JsError::new(&e))?);
        close_links_on_pagehide();
        let server = match &options.server {
            Some(server) => server.clone(),
            None => web_sys::window()
                .ok_or_else(|| JsError::new("no window: Peer.join runs in a page"))?
                .location()
                .origin()
                .map_err(|e| JsError::new(&js_message(&e)))?,
        };
        let node = join(&options, &server)
            .await
            .map_err(|e| JsError::new(&e))?;
        let (commands, receiver) = mpsc::channel(4);
        let peer = Peer {
            id: node.swarm.local_peer_id().to_string(),
            state: node.state.clone(),
            events: node.events.clone(),
            commands,
            control: node.control.clone(),
        };
        wasm_bindgen_futures::spawn_local(echo::serve(node.control.clone()));
        wasm_bindgen_futures::spawn_local(throughput::serve(node.control.clone()));
        wasm_bindgen_futures::spawn_local(node.run(receiver));
        Ok(peer)
    }

    /// This tab's peer id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Where events are dispatched (see the README for their names and details).
    #[wasm_bindgen(getter)]
    pub fn events(&self) -> EventTarget {
        self.events.clone()
    }

    /// Open connections: `[{ peer, transport, direction }]`.
    pub fn connections(&self) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let list: Vec<_> = state.connections.values().collect();
        to_js(&list)
    }

    /// Counters and RTTs as a plain object.
    pub fn stats(&self) -> Result<JsValue, JsError> {
        to_js(&self.state.borrow().stats())
    }

    /// Opens a direct browser-to-browser WebRTC connection to `peer` (a peer id string of a tab
    /// joined to the same server), signalled through the server's relay. Resolves once the
    /// direct connection is up (at once if it already is).
    pub fn connect(&mut self, peer: String) -> js_sys::Promise {
        let peer = match parse_peer(&peer) {
            Ok(peer) => peer,
            Err(e) => return js_sys::Promise::reject(&e),
        };
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.try_send(Command::Connect(peer, reply));
        wasm_bindgen_futures::future_to_promise(async move {
            sent.map_err(|_| JsError::new("peer is closed or busy"))?;
            match answer.await {
                Ok(Ok(())) => Ok(JsValue::from_str(&peer.to_string())),
                Ok(Err(e)) => Err(JsError::new(&e).into()),
                Err(_) => Err(JsError::new("peer closed before the connection was made").into()),
            }
        })
    }

    /// Sends `data` to `peer` on an echo stream and resolves to what came back (a `Uint8Array`).
    pub fn echo(&self, peer: String, data: Vec<u8>) -> js_sys::Promise {
        let peer = parse_peer(&peer);
        let control = self.control.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let back = echo::echo(control, peer?, data)
                .await
                .map_err(|e| JsError::new(&e))?;
            Ok(js_sys::Uint8Array::from(&back[..]).into())
        })
    }

    /// Sends `bytes` bytes to `peer` on one stream and resolves to `{ bytes, ms, megabytesPerSecond }`
    /// once the peer confirmed it received them all.
    #[wasm_bindgen(js_name = measureThroughput)]
    pub fn measure_throughput(&self, peer: String, bytes: f64) -> js_sys::Promise {
        let peer = parse_peer(&peer);
        let control = self.control.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let started = super::clock::now();
            let counted = throughput::send(control, peer?, bytes as u64)
                .await
                .map_err(|e| JsError::new(&e))?;
            let seconds = (super::clock::now() - started).as_secs_f64();
            let result = serde_json::json!({
                "bytes": counted,
                "ms": seconds * 1000.0,
                "megabytesPerSecond": counted as f64 / seconds / 1e6,
            });
            to_js(&result).map_err(Into::into)
        })
    }

    /// Closes every connection and stops the swarm; a `close` event follows.
    pub fn close(&mut self) {
        if self.commands.try_send(Command::Close).is_err() {
            // Already closing or closed: say so once more for listeners that came late.
            dispatch(&self.events, "close", &serde_json::json!({}));
        }
    }
}

fn parse_peer(peer: &str) -> Result<PeerId, JsValue> {
    peer.parse()
        .map_err(|e| JsError::new(&format!("invalid peer id {peer:?}: {e}")).into())
}

fn to_js(value: &impl serde::Serialize) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// When the page goes away, close every peer connection synchronously (async cleanup does not
/// run during unload), so neighbours and the server notice at once instead of after ICE consent
/// checks time out. One listener for the page's lifetime.
fn close_links_on_pagehide() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let handler = Closure::<dyn FnMut()>::new(super::rtc::close_all_peer_connections);
        let _ =
            window.add_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
        // Lives as long as the page, like the listener it backs.
        handler.forget();
    });
}

fn install_logging(level: tracing::Level) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        console_error_panic_hook::set_once();
        tracing_wasm::set_as_global_default_with_config(
            tracing_wasm::WASMLayerConfigBuilder::new()
                .set_max_level(level)
                .build(),
        );
    });
}
