//! How the page was loaded: its scheme limits the addresses a tab may dial.

use crate::net::bootstrap::PageScheme;

/// The scheme of the page the tab runs in ([`PageScheme::Http`] for anything but `https:`).
pub(crate) fn page_scheme() -> PageScheme {
    let protocol = web_sys::window().and_then(|window| window.location().protocol().ok());
    if protocol.as_deref() == Some("https:") {
        PageScheme::Https
    } else {
        PageScheme::Http
    }
}
