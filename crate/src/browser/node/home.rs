//! Moving to another server of the network when the home server goes away, as
//! [`Home`](crate::net::home::Home) decides: the tab attaches elsewhere, registers again there,
//! and carries on; direct links to other tabs are not touched.

use crate::browser::js::clock::now;
use crate::browser::js::events::dispatch;
use crate::browser::node::join::attach;
use crate::browser::node::tab_node::TabNode;
use serde_json::json;

impl TabNode {
    /// Moves to another server if the home server is gone and an attempt is due. Called on
    /// the tab's timer.
    pub(crate) async fn keep_home(&mut self) {
        let lost = self.state.borrow().server;
        if !self.home.should_move(now(), self.swarm.is_connected(&lost)) {
            return;
        }
        tracing::info!(server = %lost, "server gone: moving to another");
        for listener in std::mem::take(&mut self.listeners) {
            self.swarm.remove_listener(listener);
        }
        let stale: Vec<_> = self.swarm.external_addresses().cloned().collect();
        for addr in stale {
            self.swarm.remove_external_address(&addr);
        }
        self.server_addr = None;
        match attach(self, Some(lost)).await {
            Ok(server) => {
                self.home.attached();
                self.membership.renew_now();
                self.providers.renew_now();
                self.drive_membership();
                self.renew_provider_records();
                tracing::info!(%server, "moved to another server");
                dispatch(
                    &self.events,
                    "server",
                    &json!({ "server": server.to_string(), "previous": lost.to_string() }),
                );
            }
            Err(reason) => {
                tracing::warn!("no server to move to yet: {reason}");
                self.home.failed(now(), js_sys::Math::random());
            }
        }
    }
}
