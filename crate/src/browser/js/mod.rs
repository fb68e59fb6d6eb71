//! Small bridges to JS: the clock fed to state machines, error messages, events on the page's
//! `EventTarget`, DOM listeners, plain JS values, timeouts.

pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod listener;
pub(crate) mod timeout;
pub(crate) mod value;
