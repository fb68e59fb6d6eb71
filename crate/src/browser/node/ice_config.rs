//! The ICE configuration of new browser-to-browser peer connections ([`IceConfig`]) and a
//! server's answer about the ICE servers it offers ([`IceAnswer`]); `ice_servers.rs` asks and
//! applies the answers.

use libp2p::PeerId;
use web_sys::RtcConfiguration;

use crate::net::ice_server::{IceOffer, IceServer};

/// What asking a server gave, and which server it was.
pub(crate) struct IceAnswer {
    pub(crate) server: PeerId,
    pub(crate) outcome: IceOutcome,
}

/// What a server answered.
pub(crate) enum IceOutcome {
    /// Its ICE servers.
    Offer(IceOffer),
    /// The server does not speak the protocol (an older one).
    Unavailable,
    /// The request failed.
    Failed(String),
}

/// The configuration of new browser-to-browser peer connections (one JS object, shared with the
/// WebRTC transport) and the ICE servers of the bootstrap document (or of the `iceServers`
/// option) it starts with.
pub(crate) struct IceConfig {
    pub(crate) rtc: RtcConfiguration,
    pub(crate) initial: Vec<IceServer>,
}

impl IceConfig {
    /// New peer connections use `servers`.
    pub(crate) fn use_servers(&self, servers: &[IceServer]) -> Result<(), String> {
        let servers = crate::browser::js::value::to_plain_js(&servers)
            .map_err(|e| format!("cannot set ICE servers: {e}"))?;
        self.rtc.set_ice_servers(&servers);
        Ok(())
    }
}
