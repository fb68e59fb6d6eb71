//! Asking `/bootstrap` again for the network's servers when [`RelayBook`] says so (a tab
//! registered through a relay the book does not know: a server that came up after this tab
//! joined), and handing the newer list to the book and to [`Home`].
//!
//! [`RelayBook`]: crate::net::relay_book::RelayBook
//! [`Home`]: crate::net::home::Home

use futures::SinkExt;

use crate::browser::js::clock::now;
use crate::browser::node::bootstrap_request::request_bootstrap;
use crate::browser::node::tab_node::TabNode;
use crate::net::bootstrap::Bootstrap;

impl TabNode {
    /// Fetches the bootstrap document again if the relay book asks for it.
    pub(crate) fn ask_network_if_due(&mut self) {
        if !self.relays.refresh_due(now()) {
            return;
        }
        let url = self.bootstrap_url.clone();
        let mut answers = self.network_answers.sender();
        wasm_bindgen_futures::spawn_local(async move {
            match request_bootstrap(&url).await {
                Ok(document) => {
                    let _ = answers.send(document).await;
                }
                Err(e) => tracing::info!("cannot refresh the network's servers: {e}"),
            }
        });
    }

    /// The network's servers as `document` lists them.
    pub(crate) fn on_network(&mut self, document: Bootstrap) {
        let servers = document.all_servers();
        tracing::debug!(
            servers = servers.len(),
            "the network's servers, asked again"
        );
        let home = self.state.borrow().server;
        self.relays.update(&servers, home);
        self.home.update(servers);
    }
}
