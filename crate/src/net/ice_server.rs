//! An ICE server entry, as in `RTCConfiguration.iceServers`: what a tab's `iceServers` join
//! option holds, what a server's bootstrap document offers (its own STUN), and what it answers
//! a tab on `/peerfetch/ice/1` (its STUN, and its TURN with credentials minted for that tab).

use serde::{Deserialize, Serialize};

/// One STUN or TURN server for browser-to-browser connections. Unknown fields are ignored (as
/// `RTCIceServer` does), so a newer server's document still parses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port`, `turns:host:port`; one or several.
    pub urls: IceUrls,
    /// TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `urls` of an [`IceServer`]: a string or a list, as the WebRTC API takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IceUrls {
    /// One URL.
    One(String),
    /// Several URLs of the same server.
    Many(Vec<String>),
}

/// Bytes a [`IceOffer`] may take on the wire; a longer answer is refused.
pub const MAX_ICE_OFFER_BYTES: u64 = 8 * 1024;
/// Bytes a request for a [`IceOffer`] may take (it is `{}`).
pub const MAX_ICE_REQUEST_BYTES: u64 = 64;

/// A server's answer on `/peerfetch/ice/1`: its STUN, and its TURN with credentials for the
/// asking tab; all a tab attached to it needs for links to other tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceOffer {
    /// The servers; TURN ones with their user name and password.
    pub ice_servers: Vec<IceServer>,
    /// Seconds the answer stays good (the TURN credentials' lifetime); the tab asks again
    /// before.
    pub valid_for_secs: u64,
}

/// A request for an [`IceOffer`]: nothing to say beyond who asks, which the connection proves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceRequest {}

impl IceServer {
    /// Its URLs.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        let urls: &[String] = match &self.urls {
            IceUrls::One(url) => std::slice::from_ref(url),
            IceUrls::Many(urls) => urls,
        };
        urls.iter().map(String::as_str)
    }

    /// A STUN server at `url` (no credentials).
    pub fn stun(url: String) -> Self {
        Self {
            urls: IceUrls::One(url),
            username: None,
            credential: None,
        }
    }
}
