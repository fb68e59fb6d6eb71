//! [`Answers`]: how a task the node spawned (a request to a server) hands its result back to
//! the node's run loop. Bounded: each kind of request has one in flight at a time.

use futures::channel::mpsc;

/// Results of one kind of request, on their way back to the run loop.
pub(crate) struct Answers<T> {
    sender: mpsc::Sender<T>,
    /// Where the run loop takes them.
    pub(crate) received: mpsc::Receiver<T>,
}

impl<T> Answers<T> {
    /// Nothing asked yet.
    pub(crate) fn new() -> Self {
        let (sender, received) = mpsc::channel(1);
        Self { sender, received }
    }

    /// Where a spawned request sends its result.
    pub(crate) fn sender(&self) -> mpsc::Sender<T> {
        self.sender.clone()
    }
}
