//! [`Attach`]: attaching a tab to a server of its network, sans-IO. The servers are tried in
//! the order [`Home`](super::home::Home) gives; each over the addresses of its dial plan in
//! turn (WSS first where it has it, see [`Bootstrap::browser_dial_plan`]), until one connects;
//! then the relay slot is reserved there. A server that fails either step gives way to the
//! next. The caller carries out each [`Step`] (with its own time limit) and reports how it went;
//! the errors say which step failed and why, for a person.

use std::collections::VecDeque;

use libp2p::{Multiaddr, PeerId};

use super::bootstrap::{Bootstrap, PageScheme};
use super::transport_kind::TransportKind;

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Connect to the server over `addr` (a `kind` address).
    Dial {
        /// The transport of `addr`.
        kind: TransportKind,
        /// The address to dial.
        addr: Multiaddr,
    },
    /// Reserve a relay slot at `server`, connected at `addr`, and listen for WebRTC through it.
    Reserve {
        /// The server connected to.
        server: PeerId,
        /// The address it was reached at.
        addr: Multiaddr,
    },
    /// Attached to `server`, reached at `addr`.
    Attached {
        /// The server.
        server: PeerId,
        /// The address it was reached at.
        addr: Multiaddr,
    },
    /// No server took the tab: why.
    Failed(String),
}

/// One attempt to attach, from the first dial to [`Step::Attached`] or [`Step::Failed`].
#[derive(Debug)]
pub struct Attach {
    page: PageScheme,
    /// The servers not tried yet, in order.
    servers: VecDeque<Bootstrap>,
    /// Whether the network has more than one server (then each failure names its server).
    several: bool,
    /// The server being tried and the addresses of its plan not dialed yet.
    current: Option<(PeerId, VecDeque<(TransportKind, Multiaddr)>)>,
    /// Why each address of the current server failed.
    dial_failures: Vec<String>,
    /// Why each server tried failed.
    server_failures: Vec<String>,
}

impl Attach {
    /// An attempt over `servers` (in the order to try them), from a page on `page`. Returns it
    /// with its first step.
    pub fn start(servers: Vec<Bootstrap>, page: PageScheme) -> (Self, Step) {
        let mut attach = Self {
            page,
            several: servers.len() > 1,
            servers: servers.into(),
            current: None,
            dial_failures: Vec::new(),
            server_failures: Vec::new(),
        };
        let step = attach.next_server();
        (attach, step)
    }

    /// The dial of the last [`Step::Dial`] connected, or failed with `error`.
    pub fn dialed(&mut self, result: Result<(), String>) -> Step {
        let Some((server, plan)) = &mut self.current else {
            return self.next_server();
        };
        let Some((kind, addr)) = plan.pop_front() else {
            return self.next_server();
        };
        match result {
            Ok(()) => Step::Reserve {
                server: *server,
                addr,
            },
            Err(error) => {
                self.dial_failures.push(format!("{kind} ({addr}): {error}"));
                self.next_dial()
            }
        }
    }

    /// The reservation of the last [`Step::Reserve`] at `server` (reached at `addr`) was
    /// accepted, or failed with `error`.
    pub fn reserved(
        &mut self,
        server: PeerId,
        addr: Multiaddr,
        result: Result<(), String>,
    ) -> Step {
        match result {
            Ok(()) => Step::Attached { server, addr },
            Err(error) => self.server_failed(server, error),
        }
    }

    /// The next address of the current server, or the next server once they have all failed.
    fn next_dial(&mut self) -> Step {
        match &self.current {
            Some((_, plan)) if !plan.is_empty() => {
                let (kind, addr) = plan.front().cloned().expect("not empty");
                Step::Dial { kind, addr }
            }
            Some((server, _)) => {
                let server = *server;
                let failures = std::mem::take(&mut self.dial_failures).join("; ");
                self.server_failed(server, format!("no transport worked: {failures}"))
            }
            None => self.next_server(),
        }
    }

    /// Notes why `server` failed and moves on to the next one.
    fn server_failed(&mut self, server: PeerId, reason: String) -> Step {
        self.current = None;
        if !self.several {
            return Step::Failed(reason);
        }
        self.server_failures.push(format!("{server}: {reason}"));
        self.next_server()
    }

    /// The first step with the next server, or the end of the attempt.
    fn next_server(&mut self) -> Step {
        let Some(server) = self.servers.pop_front() else {
            let failures = self.server_failures.join("; ");
            return Step::Failed(format!("no server took us: {failures}"));
        };
        let plan: VecDeque<_> = server.browser_dial_plan(self.page).into();
        if plan.is_empty() {
            return self.server_failed(server.peer_id, no_plan(self.page).to_owned());
        }
        self.dial_failures.clear();
        self.current = Some((server.peer_id, plan));
        self.next_dial()
    }
}

/// Why a server whose document lists no address this page may dial cannot be reached.
fn no_plan(page: PageScheme) -> &'static str {
    match page {
        PageScheme::Https => {
            "no transport worked: the server lists no WebRTC-direct or secure WebSocket \
             (/tls/ws) address, and a page on https may not open plain ws:// to another host"
        }
        PageScheme::Http => {
            "no transport worked: the server lists no WebRTC-direct or WebSocket address"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Attach, Step};
    use crate::net::bootstrap::{Bootstrap, PageScheme};
    use crate::net::transport_kind::TransportKind;
    use libp2p::{Multiaddr, PeerId};

    fn wss(server: PeerId) -> Multiaddr {
        format!("/dns4/example.test/tcp/443/tls/ws/p2p/{server}")
            .parse()
            .unwrap()
    }

    fn direct(server: PeerId) -> Multiaddr {
        let certhash = "uEiDgyzNpIdsMGB1AHnTtMX9EJxOtqeIadBtnbwOTcNHitQ";
        format!("/ip4/10.0.0.1/udp/1/webrtc-direct/certhash/{certhash}/p2p/{server}")
            .parse()
            .unwrap()
    }

    fn server(peer: PeerId) -> Bootstrap {
        Bootstrap::new(peer, [direct(peer), wss(peer)])
    }

    fn dial_of(step: &Step) -> Multiaddr {
        match step {
            Step::Dial { addr, .. } => addr.clone(),
            other => panic!("expected a dial, got {other:?}"),
        }
    }

    #[test]
    fn wss_first_then_webrtc_direct_then_the_reservation() {
        let a = PeerId::random();
        let (mut attach, first) = Attach::start(vec![server(a)], PageScheme::Https);
        assert_eq!(
            first,
            Step::Dial {
                kind: TransportKind::WebSocket,
                addr: wss(a)
            }
        );
        let second = attach.dialed(Err("refused".into()));
        assert_eq!(dial_of(&second), direct(a));
        let reserve = attach.dialed(Ok(()));
        assert_eq!(
            reserve,
            Step::Reserve {
                server: a,
                addr: direct(a)
            }
        );
        assert_eq!(
            attach.reserved(a, direct(a), Ok(())),
            Step::Attached {
                server: a,
                addr: direct(a)
            }
        );
    }

    #[test]
    fn one_server_fails_with_every_transport_named() {
        let a = PeerId::random();
        let (mut attach, _) = Attach::start(vec![server(a)], PageScheme::Https);
        attach.dialed(Err("refused".into()));
        let Step::Failed(reason) = attach.dialed(Err("timed out".into())) else {
            panic!("no other server");
        };
        assert!(reason.starts_with("no transport worked: "), "{reason}");
        assert!(
            reason.contains(&format!("websocket ({}): refused", wss(a))),
            "{reason}"
        );
        assert!(
            reason.contains("webrtc-direct") && reason.ends_with("timed out"),
            "{reason}"
        );
        // A refused reservation is said as the glue said it.
        let (mut attach, _) = Attach::start(vec![server(a)], PageScheme::Https);
        let Step::Reserve { server, addr } = attach.dialed(Ok(())) else {
            panic!("connected");
        };
        let refused = attach.reserved(server, addr, Err("relay reservation refused".into()));
        assert_eq!(refused, Step::Failed("relay reservation refused".into()));
    }

    #[test]
    fn a_server_that_fails_gives_way_to_the_next_and_all_are_named_at_the_end() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let (mut attach, _) = Attach::start(vec![server(a), server(b)], PageScheme::Https);
        let Step::Reserve { server, addr } = attach.dialed(Ok(())) else {
            panic!("connected to a");
        };
        let next = attach.reserved(server, addr, Err("refused".into()));
        assert_eq!(dial_of(&next), wss(b), "b, from its first address");
        attach.dialed(Err("refused".into()));
        let Step::Failed(reason) = attach.dialed(Err("refused".into())) else {
            panic!("no server left");
        };
        assert!(reason.starts_with("no server took us: "), "{reason}");
        assert!(reason.contains(&format!("{a}: refused")), "{reason}");
        assert!(
            reason.contains(&format!("{b}: no transport worked")),
            "{reason}"
        );
    }

    #[test]
    fn a_server_with_nothing_this_page_may_dial_is_skipped_with_the_reason() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let plain: Multiaddr = format!("/ip4/10.0.0.1/tcp/80/ws/p2p/{a}").parse().unwrap();
        let unreachable = Bootstrap::new(a, [plain]);
        let (_, first) = Attach::start(vec![unreachable.clone()], PageScheme::Https);
        let Step::Failed(reason) = first else {
            panic!("nothing to dial");
        };
        assert!(reason.contains("may not open plain ws://"), "{reason}");
        let (_, first) = Attach::start(vec![unreachable, server(b)], PageScheme::Https);
        assert_eq!(dial_of(&first), wss(b));
    }
}
