//! A `/peerfetch/swarm/1` stream in the tab: one task reads and decodes what the peer sends and
//! reports it as [`LinkEvent`]s, another writes what the content service queues, in order.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use futures::{
    channel::{mpsc, oneshot},
    future::{AbortHandle, Abortable},
    AsyncReadExt, AsyncWriteExt, SinkExt, StreamExt,
};
use libp2p::{PeerId, Stream};

use crate::swarm::message::{SwarmDecoder, SwarmMessage};

pub(crate) use crate::swarm::resource::LinkId;

/// Bytes read per call.
const READ_CHUNK: usize = 64 * 1024;

/// What a link reports.
pub(crate) enum LinkEvent {
    /// Bytes arrived that do not yet make a whole message (a piece is on its way).
    Progress(LinkId),
    /// A whole message arrived.
    Message(LinkId, SwarmMessage),
    /// The peer sent bytes that are not a valid message; the stream is unusable.
    Malformed(LinkId, String),
    /// The stream ended (closed by the peer, or failed).
    Closed(LinkId, Option<String>),
}

/// Something to write on a link.
pub(crate) struct Outgoing {
    /// One encoded message.
    pub(crate) bytes: Bytes,
    /// Told once the bytes are handed to the stream.
    pub(crate) written: Option<oneshot::Sender<()>>,
}

/// A running link. Dropping it stops reading and writing at once: queued messages are dropped
/// (their senders learn it), and a write stuck on a peer that does not read ends.
pub(crate) struct Link {
    writer: LinkWriter,
    reader: AbortHandle,
    writing: AbortHandle,
}

/// Messages waiting to be written on one link. A peer that does not read fills it: the link is
/// then closed rather than the queue grown.
pub(crate) const MAX_QUEUED_MESSAGES: usize = 1024;
/// Events of all links waiting for the content service; a link's reader waits (and so stops
/// reading its peer) while it is full.
pub(crate) const MAX_QUEUED_EVENTS: usize = 256;

/// The link's queue is full: the peer does not read what it is sent.
#[derive(Debug, thiserror::Error)]
#[error("the peer does not read: {MAX_QUEUED_MESSAGES} messages wait for it")]
pub(crate) struct QueueFull;

/// Queues messages on a link, in order. Clones share one sender: every clone of an `mpsc`
/// sender gets a slot of its own beyond the channel's bound, so a queue reached through fresh
/// clones would never be full.
#[derive(Clone)]
pub(crate) struct LinkWriter(Rc<RefCell<mpsc::Sender<Outgoing>>>);

impl LinkWriter {
    /// Queues an encoded message; the receiver fires once it is on the stream.
    pub(crate) fn send_tracked(&self, bytes: Bytes) -> Result<oneshot::Receiver<()>, QueueFull> {
        let (written, done) = oneshot::channel();
        self.queue(Outgoing {
            bytes,
            written: Some(written),
        })?;
        Ok(done)
    }

    fn queue(&self, outgoing: Outgoing) -> Result<(), QueueFull> {
        self.0
            .borrow_mut()
            .try_send(outgoing)
            .map_err(|_| QueueFull)
    }
}

impl Link {
    /// Starts reading and writing `stream` to `peer`, reporting to `events`.
    pub(crate) fn start(
        id: LinkId,
        peer: PeerId,
        stream: Stream,
        events: mpsc::Sender<LinkEvent>,
    ) -> Self {
        let (reader, mut writer) = stream.split();
        let (queue, mut queued) = mpsc::channel::<Outgoing>(MAX_QUEUED_MESSAGES);
        let (writing, write_registration) = AbortHandle::new_pair();
        let write = async move {
            while let Some(outgoing) = queued.next().await {
                // Streams buffer writes until flushed; a message must not wait for the next.
                let written = match writer.write_all(&outgoing.bytes).await {
                    Ok(()) => writer.flush().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = written {
                    tracing::debug!(%peer, "swarm stream write failed: {e}");
                    return;
                }
                if let Some(written) = outgoing.written {
                    let _ = written.send(());
                }
            }
            let _ = writer.close().await;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let _ = Abortable::new(write, write_registration).await;
        });
        let (abort, registration) = AbortHandle::new_pair();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = Abortable::new(read_messages(id, reader, events), registration).await;
        });
        Self {
            writer: LinkWriter(Rc::new(RefCell::new(queue))),
            reader: abort,
            writing,
        }
    }

    /// Queues a message, or fails if the peer does not read.
    pub(crate) fn send(&self, message: &SwarmMessage) -> Result<(), QueueFull> {
        self.writer.queue(Outgoing {
            bytes: message.encode(),
            written: None,
        })
    }

    /// A handle to queue messages from elsewhere.
    pub(crate) fn writer(&self) -> LinkWriter {
        self.writer.clone()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
        self.writing.abort();
    }
}

async fn read_messages(
    id: LinkId,
    mut reader: futures::io::ReadHalf<Stream>,
    mut events: mpsc::Sender<LinkEvent>,
) {
    let mut decoder = SwarmDecoder::default();
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        let read = match reader.read(&mut buffer).await {
            Ok(0) => return drop(events.send(LinkEvent::Closed(id, None)).await),
            Ok(n) => n,
            Err(e) => {
                let closed = LinkEvent::Closed(id, Some(e.to_string()));
                return drop(events.send(closed).await);
            }
        };
        decoder.push(&buffer[..read]);
        loop {
            match decoder.next_message() {
                Ok(Some(message)) => {
                    if events.send(LinkEvent::Message(id, message)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let malformed = LinkEvent::Malformed(id, e.to_string());
                    return drop(events.send(malformed).await);
                }
            }
        }
        if decoder.buffered() > 0 {
            // Only a hint that bytes flow: dropped when the service is busy.
            let _ = events.try_send(LinkEvent::Progress(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn a_queue_nobody_reads_is_full_at_its_bound_through_any_clone() {
        let (queue, _unread) = mpsc::channel::<Outgoing>(MAX_QUEUED_MESSAGES);
        let writer = LinkWriter(Rc::new(RefCell::new(queue)));
        let mut queued = 0;
        while writer
            .clone()
            .send_tracked(Bytes::from_static(b"x"))
            .is_ok()
        {
            queued += 1;
            assert!(
                queued <= MAX_QUEUED_MESSAGES + 1,
                "the queue grows past its bound"
            );
        }
        // The channel's bound plus the one slot its single sender holds.
        assert_eq!(queued, MAX_QUEUED_MESSAGES + 1);
    }
}
