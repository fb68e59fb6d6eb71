//! What the page and the content service ask of the running tab task, and who waits for the
//! answers.

use futures::channel::oneshot;
use libp2p::PeerId;

use crate::content::content_id::ContentId;

/// Someone waiting for a provider lookup's answer.
pub(crate) type ProvidersReply = oneshot::Sender<Result<Vec<PeerId>, String>>;

/// What the JS API and the content service ask of the running swarm task.
pub(crate) enum Command {
    /// Open a direct WebRTC connection to a peer of the swarm (through the server's relay).
    Connect(PeerId, oneshot::Sender<Result<(), String>>),
    /// Announce at the server that this tab serves a resource, until withdrawn.
    Provide(ContentId),
    /// Stop announcing a resource.
    Unprovide(ContentId),
    /// Ask the server which tabs serve a resource.
    FindProviders(ContentId, ProvidersReply),
    /// Leave.
    Close,
}

/// Who waits for a direct-connection attempt.
pub(crate) enum DialWaiter {
    /// A `peer.connect()` promise (or the content service's).
    Page(oneshot::Sender<Result<(), String>>),
    /// The mesh, which wants to hear about failures.
    Mesh,
}
