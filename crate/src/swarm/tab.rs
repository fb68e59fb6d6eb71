//! [`TabSwarms`]: every resource a tab holds or downloads, and the routing of its swarm streams,
//! sans-IO.
//!
//! A stream is about one resource. The tab that opens it says which with a first `Want`; until
//! then an inbound stream belongs to no resource, and it is closed if it says anything else, if
//! it names a resource this tab does not have, or if it says nothing for
//! [`TabConfig::want_timeout`]. At most [`TabConfig::max_unnamed_links`] inbound streams wait
//! for their `Want` at once. Past that, a new stream displaces the oldest waiting stream of the
//! peer that has the most waiting, if that is more than the newcomer's peer has; otherwise it is
//! closed at once. So one peer holding every slot with silent streams shuts no other peer out.
//!
//! A peer that could not be dialed, or that stalled a download, rests for every resource
//! ([`Unreachable`]): the tab leaves it out of the server's provider answers until its rest is
//! over or a stream to it opens.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use super::message::SwarmMessage;
use super::resource::{Input, LinkId, Output, ResourceConfig, ResourceSwarm};
use super::unreachable::Unreachable;
use crate::content::content_id::ContentId;

/// Tuning of [`TabSwarms`].
#[derive(Debug, Clone)]
pub struct TabConfig {
    /// Each resource's tuning.
    pub resource: ResourceConfig,
    /// Inbound streams waiting for their `Want` at once.
    pub max_unnamed_links: usize,
    /// How long an inbound stream may take to say which resource it is about.
    pub want_timeout: Duration,
    /// Rest of a peer that could not be reached or stalled: first and longest.
    pub unreachable_rest: (Duration, Duration),
}

impl Default for TabConfig {
    fn default() -> Self {
        Self {
            resource: ResourceConfig::default(),
            max_unnamed_links: 64,
            want_timeout: Duration::from_secs(10),
            unreachable_rest: (Duration::from_secs(2), Duration::from_secs(30)),
        }
    }
}

/// What happened on a stream.
#[derive(Debug)]
pub enum LinkInput {
    /// Bytes arrived that do not make a whole message yet.
    Bytes,
    /// A whole message arrived.
    Message(SwarmMessage),
    /// Bytes arrived that are not a message.
    Malformed(String),
    /// The stream ended.
    Closed,
}

/// What the caller must do.
#[derive(Debug, PartialEq)]
pub enum TabOutput<P> {
    /// What a resource's swarm asks (see [`Output`]).
    Resource(ContentId, Output<P>),
    /// Close a stream that never joined a resource.
    Close(LinkId),
}

#[derive(Debug)]
struct Route<P> {
    peer: P,
    outbound: bool,
    content: Option<ContentId>,
    opened: Duration,
}

/// The swarms of one tab.
#[derive(Debug)]
pub struct TabSwarms<P> {
    local: P,
    config: TabConfig,
    resources: HashMap<ContentId, ResourceSwarm<P>>,
    routes: HashMap<LinkId, Route<P>>,
    unreachable: Unreachable<P>,
    outputs: VecDeque<TabOutput<P>>,
}

impl<P: Copy + Ord + Hash + Debug> TabSwarms<P> {
    /// No resources yet, for the tab `local`.
    pub fn new(local: P, config: TabConfig) -> Self {
        let (first, max) = config.unreachable_rest;
        Self {
            local,
            config,
            resources: HashMap::new(),
            routes: HashMap::new(),
            unreachable: Unreachable::new(first, max),
            outputs: VecDeque::new(),
        }
    }

    /// The swarm of `id`, if the tab holds or downloads it.
    pub fn resource(&self, id: &ContentId) -> Option<&ResourceSwarm<P>> {
        self.resources.get(id)
    }

    /// Every resource the tab holds or downloads.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceSwarm<P>> {
        self.resources.values()
    }

    /// Streams open (named or not).
    pub fn link_count(&self) -> usize {
        self.routes.len()
    }

    /// The next thing to do, if any. Call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<TabOutput<P>> {
        self.outputs.pop_front()
    }

    /// Takes `input` about resource `id` at `now`. `Hold` and `Download` start its swarm; other
    /// inputs about a resource the tab dropped are ignored. Resting peers are left out of a
    /// provider answer.
    pub fn handle(&mut self, now: Duration, id: ContentId, input: Input<P>) {
        let input = match input {
            Input::Providers(Ok(mut peers)) => {
                peers.retain(|peer| !self.unreachable.is_resting(peer, now));
                Input::Providers(Ok(peers))
            }
            Input::DialFailed(peer) => {
                self.unreachable.failed(peer, now);
                input
            }
            Input::LinkUp { peer, .. } => {
                self.unreachable.reached(peer);
                input
            }
            input => input,
        };
        let starts = matches!(input, Input::Hold(_) | Input::Download { .. });
        if starts && !self.resources.contains_key(&id) {
            let swarm = ResourceSwarm::new(id, self.local, self.config.resource.clone());
            self.resources.insert(id, swarm);
        }
        if let Some(swarm) = self.resources.get_mut(&id) {
            swarm.handle(now, input);
            self.collect(now, id);
        }
    }

    /// Stops holding and downloading `id`: its streams close (the caller tells waiters).
    pub fn remove(&mut self, id: &ContentId) {
        if self.resources.remove(id).is_none() {
            return;
        }
        let links: Vec<LinkId> = self
            .routes
            .iter()
            .filter(|(_, route)| route.content.as_ref() == Some(id))
            .map(|(link, _)| *link)
            .collect();
        for link in links {
            self.routes.remove(&link);
            self.outputs.push_back(TabOutput::Close(link));
        }
    }

    /// A stream to `peer` opened: by this tab about `about`, or by the peer (`about` is `None`).
    pub fn link_opened(&mut self, now: Duration, link: LinkId, peer: P, about: Option<ContentId>) {
        if about.is_none() && self.unnamed_links() >= self.config.max_unnamed_links {
            match self.displaceable_for(peer) {
                Some(oldest) => self.close(oldest),
                None => {
                    self.outputs.push_back(TabOutput::Close(link));
                    return;
                }
            }
        }
        self.routes.insert(
            link,
            Route {
                peer,
                outbound: about.is_some(),
                content: None,
                opened: now,
            },
        );
        if let Some(id) = about {
            if self.resources.contains_key(&id) {
                let want = Output::Send(link, SwarmMessage::Want(id));
                self.outputs.push_back(TabOutput::Resource(id, want));
            }
            self.name(now, link, id);
        }
    }

    /// Something happened on stream `link`.
    pub fn link_input(&mut self, now: Duration, link: LinkId, input: LinkInput) {
        let Some(route) = self.routes.get(&link) else {
            return;
        };
        let Some(id) = route.content else {
            match input {
                LinkInput::Message(SwarmMessage::Want(id)) if !route.outbound => {
                    self.name(now, link, id)
                }
                LinkInput::Bytes => {}
                LinkInput::Closed => {
                    self.routes.remove(&link);
                }
                LinkInput::Message(_) | LinkInput::Malformed(_) => self.close(link),
            }
            return;
        };
        let input = match input {
            LinkInput::Bytes => Input::Bytes(link),
            LinkInput::Message(message) => Input::Message(link, message),
            LinkInput::Malformed(reason) => Input::Malformed(link, reason),
            LinkInput::Closed => {
                self.routes.remove(&link);
                Input::LinkClosed(link)
            }
        };
        self.handle(now, id, input);
    }

    /// Lets time pass: every swarm runs its timers; streams that never said `Want` close.
    pub fn tick(&mut self, now: Duration) {
        let timeout = self.config.want_timeout;
        let silent: Vec<LinkId> = self
            .routes
            .iter()
            .filter(|(_, r)| r.content.is_none() && now.saturating_sub(r.opened) >= timeout)
            .map(|(link, _)| *link)
            .collect();
        for link in silent {
            self.close(link);
        }
        let ids: Vec<ContentId> = self.resources.keys().copied().collect();
        for id in ids {
            self.handle(now, id, Input::Tick);
        }
    }

    fn unnamed_links(&self) -> usize {
        self.unnamed().count()
    }

    /// Inbound streams still waiting for their `Want`.
    fn unnamed(&self) -> impl Iterator<Item = (&LinkId, &Route<P>)> {
        self.routes
            .iter()
            .filter(|(_, r)| r.content.is_none() && !r.outbound)
    }

    /// The waiting stream a new one from `newcomer` displaces, when every slot is taken: the
    /// oldest of the peer with the most waiting, if it has more than `newcomer` has.
    fn displaceable_for(&self, newcomer: P) -> Option<LinkId> {
        let mut per_peer: HashMap<P, usize> = HashMap::new();
        for (_, route) in self.unnamed() {
            *per_peer.entry(route.peer).or_default() += 1;
        }
        let own = per_peer.get(&newcomer).copied().unwrap_or(0);
        let (greediest, most) = per_peer.into_iter().max_by_key(|&(peer, n)| (n, peer))?;
        if most <= own {
            return None;
        }
        self.unnamed()
            .filter(|(_, r)| r.peer == greediest)
            .min_by_key(|&(link, r)| (r.opened, *link))
            .map(|(link, _)| *link)
    }

    /// Makes `link` a stream about `id`, or closes it if the tab does not have `id`.
    fn name(&mut self, now: Duration, link: LinkId, id: ContentId) {
        let Some(route) = self.routes.get_mut(&link) else {
            return;
        };
        if !self.resources.contains_key(&id) {
            // Not ours (any more): closing the stream says so.
            return self.close(link);
        }
        route.content = Some(id);
        let (peer, outbound) = (route.peer, route.outbound);
        self.handle(
            now,
            id,
            Input::LinkUp {
                link,
                peer,
                outbound,
            },
        );
    }

    fn close(&mut self, link: LinkId) {
        if self.routes.remove(&link).is_some() {
            self.outputs.push_back(TabOutput::Close(link));
        }
    }

    /// Moves what `id`'s swarm asks into the queue, forgetting the streams it closes and
    /// resting the peers it dropped as stalled.
    fn collect(&mut self, now: Duration, id: ContentId) {
        let Some(swarm) = self.resources.get_mut(&id) else {
            return;
        };
        while let Some(output) = swarm.poll_output() {
            match &output {
                Output::Close(link) => {
                    self.routes.remove(link);
                }
                Output::Dropped(peer, reason) if !reason.is_ban() => {
                    self.unreachable.failed(*peer, now);
                }
                _ => {}
            }
            self.outputs.push_back(TabOutput::Resource(id, output));
        }
    }
}

#[cfg(test)]
#[path = "tab_tests.rs"]
mod tests;
