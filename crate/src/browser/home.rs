//! The tab's home server and the others of its network: when the home server goes away (its
//! connection closed), the tab attaches to another one (trying the lost one last), registers
//! again there, and carries on; direct links to other tabs are not touched. Attempts that fail
//! are retried with a growing, jittered delay so that a network's tabs do not all come back at
//! once.

use super::{clock::now, events::dispatch, join::attach, tab_node::TabNode};
use crate::bootstrap::Bootstrap;
use libp2p::core::transport::ListenerId;
use serde_json::json;
use std::time::Duration;

/// Wait before the second attempt; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Where the tab is attached and how to move.
pub(crate) struct Home {
    /// Every server of the network, the one first asked first.
    pub(crate) servers: Vec<Bootstrap>,
    /// Bound on reaching one server over one transport.
    pub(crate) dial_timeout: Duration,
    /// Bound on each later step (the relay reservation).
    pub(crate) step_timeout: Duration,
    /// The listeners (relay reservation, WebRTC) held at the home server.
    pub(crate) listeners: Vec<ListenerId>,
    retry: Duration,
    next_attempt: Duration,
}

impl Home {
    /// A tab of the network made of `servers`.
    pub(crate) fn new(
        servers: Vec<Bootstrap>,
        dial_timeout: Duration,
        step_timeout: Duration,
    ) -> Self {
        Self {
            servers,
            dial_timeout,
            step_timeout,
            listeners: Vec::new(),
            retry: FIRST_RETRY,
            next_attempt: Duration::ZERO,
        }
    }

    fn failed(&mut self, now: Duration) {
        // 50–100 % of the current delay.
        let jitter = 0.5 + js_sys::Math::random() / 2.0;
        self.next_attempt = now + self.retry.mul_f64(jitter);
        self.retry = (self.retry * 2).min(MAX_RETRY);
    }
}

impl TabNode {
    /// Moves to another server if the home server is gone and an attempt is due. Called on
    /// the tab's timer.
    pub(crate) async fn keep_home(&mut self) {
        let lost = self.state.borrow().server;
        if self.swarm.is_connected(&lost) || now() < self.home.next_attempt {
            return;
        }
        tracing::info!(server = %lost, "server gone: moving to another");
        for listener in std::mem::take(&mut self.home.listeners) {
            self.swarm.remove_listener(listener);
        }
        let stale: Vec<_> = self.swarm.external_addresses().cloned().collect();
        for addr in stale {
            self.swarm.remove_external_address(&addr);
        }
        self.server_addr = None;
        match attach(self, Some(lost)).await {
            Ok(server) => {
                self.home.retry = FIRST_RETRY;
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
                self.home.failed(now());
            }
        }
    }
}
