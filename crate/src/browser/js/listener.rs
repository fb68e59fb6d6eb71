//! An event listener that forwards into a bounded channel and removes itself when dropped.

use futures::channel::mpsc;
use wasm_bindgen::{prelude::Closure, JsCast};
use web_sys::{Event, EventTarget};

/// `target.addEventListener(name, …)` for as long as this value lives.
pub(crate) struct JsListener {
    target: EventTarget,
    name: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl JsListener {
    /// Calls `map` on each event and sends what it returns; events that find the channel full
    /// are dropped (the receiver is not keeping up, which the channel size must rule out).
    pub(crate) fn forward<T: 'static>(
        target: &EventTarget,
        name: &'static str,
        sender: mpsc::Sender<T>,
        map: impl Fn(Event) -> Option<T> + 'static,
    ) -> Self {
        let mut sender = sender;
        let callback = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            if let Some(value) = map(event) {
                if sender.try_send(value).is_err() {
                    tracing::warn!(name, "event dropped: receiver not keeping up");
                }
            }
        });
        let _ = target.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        Self {
            target: target.clone(),
            name,
            callback,
        }
    }
}

impl Drop for JsListener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.name, self.callback.as_ref().unchecked_ref());
    }
}
