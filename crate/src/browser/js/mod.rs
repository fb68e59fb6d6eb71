//! Small bridges to JS: reading blobs, the clock fed to state machines, error messages, events
//! on the page's `EventTarget`, DOM listeners, the page's scheme, plain JS values, timeouts.

pub(crate) mod blob;
pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod listener;
pub(crate) mod page;
pub(crate) mod timeout;
pub(crate) mod value;
