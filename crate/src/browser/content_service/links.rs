//! The service's links: finding providers at the server, dialing them, taking streams in
//! both directions (one per peer and resource), and routing what arrives on them.

use super::*;

impl ContentService {
    /// Asks the server for providers of `id` if its fetch has room for more links and the last
    /// lookup is old enough.
    pub(super) fn lookup_due(&mut self, id: ContentId) {
        let now = now();
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let Some(fetch) = resource.fetch.as_mut() else {
            return;
        };
        if fetch.finishing
            || now < fetch.next_lookup
            || resource.links.len() + resource.dialing.len() >= MAX_LINKS
        {
            return;
        }
        fetch.next_lookup = now + LOOKUP_EVERY;
        let (reply, answer) = oneshot::channel();
        self.tell_node(Command::FindProviders(id, reply));
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = answer
                .await
                .unwrap_or_else(|_| Err("the peer closed".to_owned()));
            let _ = done.unbounded_send(Done::Providers(id, result));
        });
    }

    /// Dials providers of `id` it is not linked to, up to [`MAX_LINKS`].
    pub(super) fn dial_providers(&mut self, id: ContentId, providers: Vec<PeerId>) {
        let now = now();
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let Some(fetch) = resource.fetch.as_mut() else {
            return;
        };
        if !providers.is_empty() {
            fetch.found_provider = true;
        }
        for peer in providers {
            if resource.links.len() + resource.dialing.len() >= MAX_LINKS {
                break;
            }
            let resting = resource
                .unreachable
                .get(&peer)
                .is_some_and(|(until, _)| *until > now);
            if peer == self.local
                || resting
                || resource.links.contains_key(&peer)
                || resource.dialing.contains(&peer)
                || resource.banned.contains(&peer)
            {
                continue;
            }
            resource.dialing.insert(peer);
            let mut node = self.node.clone();
            let mut control = self.control.clone();
            let done = self.done.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let mut outcome = connect_and_open(&mut node, &mut control, peer).await;
                // The connection the stream went to may have just closed (the duplicate of a
                // link both tabs dialed at once): once more, on the one that stays.
                if matches!(&outcome, Err(OpenError::Stream(_))) {
                    outcome = connect_and_open(&mut node, &mut control, peer).await;
                }
                let outcome = outcome.map_err(|e| e.to_string());
                let report = match outcome {
                    Ok(stream) => Done::Opened(id, peer, stream),
                    Err(e) => Done::DialFailed(id, peer, e),
                };
                let _ = done.unbounded_send(report);
            });
        }
    }

    /// Takes a new stream: outbound ones are about `content`, inbound ones say with `Want`.
    pub(super) fn attach(&mut self, peer: PeerId, stream: Stream, content: Option<ContentId>) {
        let link_id = self.next_link;
        self.next_link += 1;
        let link = Link::start(
            link_id,
            peer,
            content.is_some(),
            stream,
            self.link_events.clone(),
        );
        self.links.insert(
            link_id,
            LinkState {
                link,
                content: None,
            },
        );
        if let Some(id) = content {
            self.links[&link_id].link.send(&SwarmMessage::Want(id));
            self.join_resource(link_id, id);
        }
    }

    /// Makes `link` the link to its peer about `id`, and exchanges bitfields.
    pub(super) fn join_resource(&mut self, link_id: LinkId, id: ContentId) {
        let now = now();
        let Some(state) = self.links.get(&link_id) else {
            return;
        };
        let peer = state.link.peer;
        let Some(resource) = self.resources.get_mut(&id) else {
            // Not ours (any more): closing the stream says so.
            self.links.remove(&link_id);
            return;
        };
        if let Some(existing) = resource.links.get(&peer).copied() {
            // Both tabs opened a stream at once: both keep the one the smaller peer id opened.
            let opener = |outbound: bool| if outbound { self.local } else { peer };
            let new_opener = opener(state.link.outbound);
            let old_opener = opener(self.links[&existing].link.outbound);
            if old_opener <= new_opener {
                self.links.remove(&link_id);
                return;
            }
            self.links.remove(&existing);
            resource.uploads.remove_peer(&peer);
            if let Some(fetch) = resource.fetch.as_mut() {
                fetch.download.remove_peer(&peer, now);
            }
        }
        resource.links.insert(peer, link_id);
        let state = self.links.get_mut(&link_id).expect("checked above");
        state.content = Some(id);
        let have = Bytes::copy_from_slice(resource.have.as_bytes());
        state.link.send(&SwarmMessage::Have(have));
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.download.add_peer(peer, now);
        }
        self.drain_download(id);
    }

    /// Forgets a link and everything its peer was doing through it.
    pub(super) fn close_link(&mut self, link_id: LinkId) {
        let Some(state) = self.links.remove(&link_id) else {
            return;
        };
        let peer = state.link.peer;
        let Some(id) = state.content else {
            return;
        };
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        if resource.links.get(&peer) != Some(&link_id) {
            return;
        }
        resource.links.remove(&peer);
        resource.uploads.remove_peer(&peer);
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.download.remove_peer(&peer, now());
            // The peer may still be there on another connection: look it up again at once.
            fetch.next_lookup = now();
        }
        self.drain_download(id);
        self.lookup_due(id);
    }

    pub(super) fn on_link_event(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Progress(link_id) => {
                if let Some((id, peer)) = self.link_target(link_id) {
                    if let Some(fetch) = self.fetch_mut(&id) {
                        fetch.download.progress(&peer, now());
                        fetch.touch(now());
                    }
                }
            }
            LinkEvent::Message(link_id, message) => self.on_message(link_id, message),
            LinkEvent::Malformed(link_id, reason) => {
                tracing::warn!(link = link_id, "malformed swarm message: {reason}");
                if let Some((id, peer)) = self.link_target(link_id) {
                    if let Some(fetch) = self.fetch_mut(&id) {
                        fetch.download.protocol_error(&peer, reason, now());
                    }
                    self.drain_download(id);
                }
                self.close_link(link_id);
            }
            LinkEvent::Closed(link_id, error) => {
                if let Some(error) = error {
                    tracing::debug!(link = link_id, "swarm stream failed: {error}");
                }
                self.close_link(link_id);
            }
        }
    }

    pub(super) fn link_target(&self, link_id: LinkId) -> Option<(ContentId, PeerId)> {
        let state = self.links.get(&link_id)?;
        Some((state.content?, state.link.peer))
    }

    pub(super) fn on_message(&mut self, link_id: LinkId, message: SwarmMessage) {
        let Some(state) = self.links.get(&link_id) else {
            return;
        };
        let peer = state.link.peer;
        let Some(id) = state.content else {
            match message {
                SwarmMessage::Want(id) if !state.link.outbound => self.join_resource(link_id, id),
                _ => {
                    tracing::debug!(%peer, "swarm stream did not start with Want");
                    self.links.remove(&link_id);
                }
            }
            return;
        };
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        match message {
            SwarmMessage::Request { id: request, piece } => {
                if let Some(reject) = resource
                    .uploads
                    .request(peer, request, piece, &resource.have)
                {
                    self.links[&link_id].link.send(&reject);
                }
                self.pump_uploads(id);
            }
            SwarmMessage::Cancel { id: request } => {
                resource.uploads.cancel(&peer, request);
            }
            SwarmMessage::Want(_) => {
                if let Some(fetch) = resource.fetch.as_mut() {
                    fetch.download.protocol_error(&peer, "second Want", now());
                }
                self.close_link(link_id);
            }
            message => {
                if let Some(fetch) = resource.fetch.as_mut() {
                    fetch.download.handle(&peer, message, now());
                    self.drain_download(id);
                }
            }
        }
    }
}

/// Why a swarm stream to a provider could not be opened.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("the peer closed")]
    Closed,
    #[error("{0}")]
    Connect(String),
    #[error("cannot open a swarm stream: {0}")]
    Stream(String),
}

/// Makes sure there is a direct connection to `peer`, then opens a swarm stream on it.
async fn connect_and_open(
    node: &mut mpsc::Sender<Command>,
    control: &mut Control,
    peer: PeerId,
) -> Result<Stream, OpenError> {
    let (reply, connected) = oneshot::channel();
    node.send(Command::Connect(peer, reply))
        .await
        .map_err(|_| OpenError::Closed)?;
    connected
        .await
        .map_err(|_| OpenError::Closed)?
        .map_err(OpenError::Connect)?;
    control
        .open_stream(peer, SWARM_PROTOCOL)
        .await
        .map_err(|e| OpenError::Stream(e.to_string()))
}
