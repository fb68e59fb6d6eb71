//! The server's rendezvous point, federated: tabs register in namespaces (their swarm, the
//! resources they provide) and ask who else is there. The answer holds this server's
//! registrations and those of the other servers announcing the namespace in the servers'
//! Kademlia DHT (each server provides the namespaces it holds registrations in), fetched from
//! them with a rendezvous DISCOVER. Tabs on different servers thereby find each other.

use crate::{
    behaviour::ServerSwarm,
    cli::RegistrationLimits,
    federation::{Asked, Done, Federation},
    peer_rate::PeerRates,
    registry::Registry,
    server_set::{Identified, ServerSet},
};
use libp2p::{
    identify, kad,
    rendezvous::{self, Cookie, ErrorCode, Namespace, Registration},
    request_response::ResponseChannel,
    swarm::ConnectionId,
    Multiaddr, PeerId, StreamProtocol,
};
use peerfetch::wire::protocols;
use peerfetch::wire::rendezvous_wire::{Request, RequestError, Response};
use rand::seq::SliceRandom;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The servers' DHT protocol: a DHT of peerfetch servers only, apart from any public one.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new(protocols::KAD);
/// Registrations in a DISCOVER answer when the request names no limit.
const DEFAULT_LIMIT: usize = 100;
/// Most registrations in one DISCOVER answer (keeps it far below the 1 MiB message bound).
const MAX_LIMIT: usize = 1000;
/// How often expired registrations are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// A tab's DISCOVER waiting for the other servers.
pub struct Question {
    channel: ResponseChannel<Response>,
    limit: usize,
}

/// What an identify message told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identify {
    /// A server of the network and the addresses it listens on.
    Server(PeerId, Vec<Multiaddr>),
    /// A peer that claims to be a server but is not one of the network's.
    Impostor,
    /// Anything else.
    Other,
}

/// What became of a request, for metrics and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A registration was accepted (or renewed).
    Registered,
    /// A registration was withdrawn.
    Unregistered,
    /// A DISCOVER was taken (answered now or once the other servers answer).
    Discovering,
    /// A request was refused.
    Refused {
        /// `registration` or `discovery`.
        request: &'static str,
        /// The protocol's status, or `rate` for the request rate bound.
        reason: String,
    },
}

/// The rendezvous point's state.
pub struct Discovery {
    registry: Registry,
    federation: Federation<Question>,
    queries: HashMap<kad::QueryId, Namespace>,
    servers: ServerSet,
    discovery_rates: PeerRates,
    registration_rates: PeerRates,
    started: Instant,
    next_sweep: Duration,
}

impl Discovery {
    /// An empty rendezvous point with these bounds, in the network of `servers`.
    pub fn new(limits: &RegistrationLimits, servers: ServerSet) -> Self {
        Self {
            registry: Registry::new(limits.to_registry_limits()),
            federation: Federation::default(),
            queries: HashMap::new(),
            servers,
            discovery_rates: PeerRates::new(limits.discovery_rate_per_peer),
            registration_rates: PeerRates::new(limits.registration_rate_per_peer),
            started: Instant::now(),
            next_sweep: SWEEP_EVERY,
        }
    }

    /// Registrations held here.
    pub fn registrations(&self) -> usize {
        self.registry.held()
    }

    /// Other servers of the network connected.
    pub fn servers(&self) -> usize {
        self.servers.connected()
    }

    /// The sizes of the long-lived maps, by name, for the gauges.
    pub fn sizes(&self) -> Vec<(&'static str, usize)> {
        let mut sizes = self.registry.sizes();
        sizes.extend([
            ("federation_lookups", self.federation.lookups()),
            ("federation_answers", self.federation.answers()),
            ("kad_queries", self.queries.len()),
            ("discovery_rate_buckets", self.discovery_rates.len()),
            ("registration_rate_buckets", self.registration_rates.len()),
            ("servers_connected", self.servers.connected()),
        ]);
        sizes
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Handles one request from `peer`, received over `connection`; its registrations count
    /// against the connection's remote address.
    pub fn on_request(
        &mut self,
        swarm: &mut ServerSwarm,
        peer: PeerId,
        connection: ConnectionId,
        request: Result<Request, RequestError>,
        channel: ResponseChannel<Response>,
    ) -> Outcome {
        let now = self.now();
        let request = match request {
            Ok(request) => request,
            Err(error) => {
                tracing::info!(%peer, "rendezvous request refused: {error}");
                if let Some(answer) = error.answer() {
                    respond(swarm, channel, answer);
                }
                return refused("request", format!("{:?}", error.code()));
            }
        };
        match request {
            Request::Register {
                namespace,
                record,
                ttl,
            } => {
                // Servers never register with each other, so no peer is exempt.
                if !self.registration_rates.try_take(peer, now) {
                    let rate = self.registration_rates.rate();
                    tracing::info!(%peer, "registration refused: over {rate} per peer");
                    let answer = Response::Registered(Err(ErrorCode::Unavailable));
                    return refuse(swarm, channel, answer, "registration", "rate");
                }
                let address = swarm.behaviour().ip_limits.address_of(connection);
                let result =
                    self.registry
                        .register(peer, address, namespace.clone(), *record, ttl, now);
                let answer = result.map(|a| a.ttl).map_err(|refusal| refusal.code());
                respond(swarm, channel, Response::Registered(answer));
                match result {
                    Ok(accepted) => {
                        tracing::debug!(%peer, %namespace, ttl = accepted.ttl, "registered");
                        // A server with no other server in its network has nobody to tell
                        // (a provider record costs about 5 KiB per namespace, measured).
                        let networked = !self.servers.allowed().is_empty();
                        if accepted.first_in_namespace && networked {
                            announce(swarm, &namespace);
                        }
                        Outcome::Registered
                    }
                    Err(refusal) => {
                        tracing::info!(%peer, %namespace, "registration refused: {refusal}");
                        refused("registration", refusal.reason().to_owned())
                    }
                }
            }
            Request::Unregister { namespace } => {
                if self.registry.unregister(peer, &namespace) {
                    swarm.behaviour_mut().kad.stop_providing(&key(&namespace));
                }
                Outcome::Unregistered
            }
            Request::Discover { namespace, limit } => {
                // Only the network's servers (by peer id, not by their claim) skip the rate.
                let is_server = self.servers.is_connected_server(&peer);
                // Every registration held, O(all of them): refused to everyone, since federation
                // always names a namespace.
                if namespace.is_none() {
                    tracing::info!(%peer, "discovery without a namespace refused");
                    let answer = Response::Discovered(Err(ErrorCode::NotAuthorized));
                    return refuse(swarm, channel, answer, "discovery", "NotAuthorized");
                }
                let within_rate = is_server || self.discovery_rates.try_take(peer, now);
                if !within_rate {
                    let rate = self.discovery_rates.rate();
                    tracing::info!(%peer, "discovery refused: over {rate} per peer");
                    let answer = Response::Discovered(Err(ErrorCode::Unavailable));
                    return refuse(swarm, channel, answer, "discovery", "rate");
                }
                let limit = limit.map_or(DEFAULT_LIMIT, |l| (l as usize).min(MAX_LIMIT));
                self.discover(swarm, peer, namespace, Question { channel, limit });
                Outcome::Discovering
            }
        }
    }

    fn discover(
        &mut self,
        swarm: &mut ServerSwarm,
        peer: PeerId,
        namespace: Option<Namespace>,
        question: Question,
    ) {
        let now = self.now();
        // Other servers get this server's own registrations only: no echoes between servers.
        let local_only = self.servers.is_connected_server(&peer) || self.servers.connected() == 0;
        let (Some(namespace), false) = (&namespace, local_only) else {
            let found = self
                .registry
                .discover(namespace.as_ref(), question.limit, now);
            let cookie = namespace.map_or_else(Cookie::for_all_namespaces, Cookie::for_namespace);
            respond(
                swarm,
                question.channel,
                Response::Discovered(Ok((found, cookie))),
            );
            return;
        };
        match self.federation.ask(namespace, question, now) {
            Asked::Answer(question, remote) => {
                let local = self.registry.discover(Some(namespace), question.limit, now);
                Self::answer(swarm, namespace, question, local, remote);
            }
            Asked::LookUp => {
                let query = swarm.behaviour_mut().kad.get_providers(key(namespace));
                self.queries.insert(query, namespace.clone());
            }
            Asked::Wait => {}
        }
    }

    /// Answers `question` with this server's registrations in `namespace` (`local`, a random
    /// sample read for the largest question waiting) and then, as far as its limit allows, the
    /// other servers' (`remote`).
    fn answer(
        swarm: &mut ServerSwarm,
        namespace: &Namespace,
        question: Question,
        mut found: Vec<Registration>,
        mut remote: Vec<Registration>,
    ) {
        found.truncate(question.limit);
        let here: HashSet<PeerId> = found.iter().map(|r| r.record.peer_id()).collect();
        remote.retain(|r| !here.contains(&r.record.peer_id()));
        remote.shuffle(&mut rand::rng());
        let room = question.limit.saturating_sub(found.len());
        found.extend(remote.into_iter().take(room));
        let cookie = Cookie::for_namespace(namespace.clone());
        respond(
            swarm,
            question.channel,
            Response::Discovered(Ok((found, cookie))),
        );
    }

    fn finish(&self, swarm: &mut ServerSwarm, done: Done<Question>) {
        let largest = done.waiters.iter().map(|q| q.limit).max().unwrap_or(0);
        let local = self
            .registry
            .discover(Some(&done.namespace), largest, self.now());
        for question in done.waiters {
            Self::answer(
                swarm,
                &done.namespace,
                question,
                local.clone(),
                done.remote.clone(),
            );
        }
    }

    /// Progress of a DHT query for a namespace's providers.
    pub fn on_kad(&mut self, swarm: &mut ServerSwarm, event: kad::Event) {
        let kad::Event::OutboundQueryProgressed {
            id, result, step, ..
        } = event
        else {
            return;
        };
        let kad::QueryResult::GetProviders(result) = result else {
            return;
        };
        let Some(namespace) = self.queries.get(&id).cloned() else {
            return;
        };
        if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result {
            // Only connected servers of the network are asked (not whoever wrote a record).
            let others = providers
                .into_iter()
                .filter(|p| self.servers.is_connected_server(p));
            for server in self.federation.providers_found(&namespace, others) {
                swarm.behaviour_mut().federation.discover(
                    Some(namespace.clone()),
                    None,
                    Some(MAX_LIMIT as u64),
                    server,
                );
            }
        }
        if step.last {
            self.queries.remove(&id);
            if let Some(done) = self.federation.providers_complete(&namespace, self.now()) {
                self.finish(swarm, done);
            }
        }
    }

    /// Another server's answer to our DISCOVER.
    pub fn on_federation(&mut self, swarm: &mut ServerSwarm, event: rendezvous::client::Event) {
        let now = self.now();
        let done = match event {
            rendezvous::client::Event::Discovered {
                rendezvous_node,
                registrations,
                cookie,
            } => {
                let Some(namespace) = cookie.namespace() else {
                    return;
                };
                self.federation.server_answered(
                    namespace,
                    rendezvous_node,
                    Some(registrations),
                    now,
                )
            }
            rendezvous::client::Event::DiscoverFailed {
                rendezvous_node,
                namespace: Some(namespace),
                error,
            } => {
                tracing::debug!(server = %rendezvous_node, %namespace, ?error, "server did not answer");
                self.federation
                    .server_answered(&namespace, rendezvous_node, None, now)
            }
            _ => None,
        };
        if let Some(done) = done {
            self.finish(swarm, done);
        }
    }

    /// Learns where the servers of the network are (from their identify message); returns
    /// the server and its addresses when the peer is one, and whether a peer that is not one
    /// claimed to be.
    pub fn on_identify(&mut self, swarm: &mut ServerSwarm, event: &identify::Event) -> Identify {
        let identify::Event::Received { peer_id, info, .. } = event else {
            return Identify::Other;
        };
        let claims = info.protocols.contains(&KAD_PROTOCOL);
        match self.servers.on_identify(*peer_id, claims) {
            Identified::Impostor => {
                tracing::info!(%peer_id, "a peer claims to be a server but is not one of the network's (--network-peer-id)");
                return Identify::Impostor;
            }
            Identified::Tab => return Identify::Other,
            Identified::Joined => tracing::info!(server = %peer_id, "joined by a server"),
            Identified::Known => {}
        }
        for addr in &info.listen_addrs {
            swarm.behaviour_mut().kad.add_address(peer_id, addr.clone());
        }
        Identify::Server(*peer_id, info.listen_addrs.clone())
    }

    /// A connection to `peer` came up: its registrations no longer wait to be dropped.
    pub fn on_connected(&mut self, peer: PeerId) {
        self.registry.peer_connected(peer);
    }

    /// `connection` to `peer` closed, `remaining` are still open. After its last one, the
    /// peer's request budgets are forgotten, its registrations go after the grace period and,
    /// if it was a server, it is no longer one of the network's (returns whether it was).
    pub fn on_disconnected(&mut self, peer: PeerId, remaining: u32) -> bool {
        if remaining > 0 {
            return false;
        }
        self.discovery_rates.forget(&peer);
        self.registration_rates.forget(&peer);
        self.registry.peer_disconnected(peer, self.now());
        let was_server = self.servers.on_disconnected(&peer);
        if was_server {
            tracing::info!(server = %peer, "a server left");
        }
        was_server
    }

    /// Answers questions the other servers were too slow for, sweeps expired registrations.
    pub fn tick(&mut self, swarm: &mut ServerSwarm) {
        let now = self.now();
        for done in self.federation.overdue(now) {
            self.finish(swarm, done);
        }
        if now >= self.next_sweep {
            self.next_sweep = now + SWEEP_EVERY;
            let (emptied, dropped) = self.registry.expire(now);
            for namespace in emptied {
                swarm.behaviour_mut().kad.stop_providing(&key(&namespace));
            }
            if dropped > 0 {
                tracing::debug!(dropped, "registrations expired or left behind");
            }
        }
    }
}

fn refused(request: &'static str, reason: String) -> Outcome {
    Outcome::Refused { request, reason }
}

/// Answers `channel` with the refusal `answer` and reports it.
fn refuse(
    swarm: &mut ServerSwarm,
    channel: ResponseChannel<Response>,
    answer: Response,
    request: &'static str,
    reason: &str,
) -> Outcome {
    respond(swarm, channel, answer);
    refused(request, reason.to_owned())
}

fn respond(swarm: &mut ServerSwarm, channel: ResponseChannel<Response>, answer: Response) {
    if swarm
        .behaviour_mut()
        .rendezvous
        .send_response(channel, answer)
        .is_err()
    {
        tracing::debug!("rendezvous answer not sent: the peer left");
    }
}

/// The DHT key under which servers announce that they hold registrations in `namespace`.
fn key(namespace: &Namespace) -> kad::RecordKey {
    kad::RecordKey::new(&namespace.to_string())
}

fn announce(swarm: &mut ServerSwarm, namespace: &Namespace) {
    if let Err(e) = swarm.behaviour_mut().kad.start_providing(key(namespace)) {
        tracing::warn!(%namespace, "cannot announce the namespace to other servers: {e}");
    }
}
