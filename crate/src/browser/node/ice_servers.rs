//! Carries out [`IceRenewal`]: asks the home server for the ICE servers it offers over
//! `/peerfetch/ice/1` (its STUN, its TURN with credentials for this tab) and puts them into the
//! configuration every new browser-to-browser peer connection is made with. Until the first
//! answer, and from a server that does not answer, the bootstrap document's STUN is used.

use crate::browser::js::clock::now;
use crate::browser::js::timeout::with_timeout;
use crate::browser::node::ice_config::{IceAnswer, IceOutcome};
use crate::browser::node::tab_node::TabNode;
use crate::net::ice_server::{IceOffer, IceRequest, IceServer, MAX_ICE_OFFER_BYTES};
use crate::wire::protocols::ICE_SERVERS;
use futures::{AsyncReadExt, AsyncWriteExt, SinkExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};
use libp2p_stream::{Control, OpenStreamError};
use std::time::Duration;

impl TabNode {
    /// Asks the home server for its ICE servers if [`IceRenewal`] says it is time; the answer
    /// comes back on `ice_answers`. Returns whether it asked.
    pub(crate) fn ask_ice_servers_if_due(&mut self, now: Duration) -> bool {
        if !self.ice_renewal.poll_request(now) {
            return false;
        }
        let server = self.state.borrow().server;
        let control = self.control.clone();
        let mut answers = self.ice_answers.sender();
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = ask(control, server).await;
            let _ = answers.send(IceAnswer { server, outcome }).await;
        });
        true
    }

    /// Asks the server just joined for its ICE servers and waits for the answer, driving the
    /// swarm, for at most `limit`: so a tab behind a symmetric NAT has the server's TURN before
    /// `Peer.join` resolves and its first links are made. A later answer is taken by the run
    /// loop.
    pub(crate) async fn take_first_ice_servers(&mut self, limit: Duration) {
        if !self.ask_ice_servers_if_due(now()) {
            return;
        }
        let wait = async {
            loop {
                futures::select! {
                    event = self.swarm.select_next_some() => self.handle(&event),
                    answer = self.ice_answers.received.next() => return answer,
                }
            }
        };
        if let Ok(Some(answer)) = with_timeout(limit, wait).await {
            self.on_ice_answer(now(), answer);
        }
    }

    /// Applies the home server's answer; one from a server the tab has since moved away from is
    /// dropped (the new one was asked on attaching).
    pub(crate) fn on_ice_answer(&mut self, now: Duration, answer: IceAnswer) {
        if answer.server != self.state.borrow().server {
            return tracing::debug!(server = %answer.server, "ICE servers of a former server dropped");
        }
        match answer.outcome {
            IceOutcome::Offer(offer) => match self.ice.use_servers(&offer.ice_servers) {
                Ok(()) => {
                    let urls: Vec<&str> =
                        offer.ice_servers.iter().flat_map(IceServer::urls).collect();
                    tracing::info!(
                        valid_for_secs = offer.valid_for_secs,
                        "ICE servers offered: {}",
                        urls.join(", ")
                    );
                    self.ice_renewal
                        .offered(now, Duration::from_secs(offer.valid_for_secs));
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    self.ice_renewal.failed(now);
                }
            },
            IceOutcome::Unavailable => {
                // What a former server offered (its TURN credentials) must not outlive the move.
                if let Err(e) = self.ice.use_servers(&self.ice.initial) {
                    tracing::warn!("{e}");
                }
                tracing::debug!("the server does not offer ICE servers");
                self.ice_renewal.unavailable();
            }
            IceOutcome::Failed(reason) => {
                tracing::info!("asking for ICE servers failed: {reason}");
                self.ice_renewal.failed(now);
            }
        }
    }
}

/// Asks `server`, all of it (opening the stream included) bounded by 10 s.
async fn ask(mut control: Control, server: PeerId) -> IceOutcome {
    let exchange = async {
        let mut stream = match control
            .open_stream(server, StreamProtocol::new(ICE_SERVERS))
            .await
        {
            Ok(stream) => stream,
            Err(OpenStreamError::UnsupportedProtocol(_)) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let request = serde_json::to_vec(&IceRequest {}).map_err(|e| e.to_string())?;
        stream
            .write_all(&request)
            .await
            .map_err(|e| e.to_string())?;
        stream.close().await.map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_ICE_OFFER_BYTES + 1)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        if answer.len() as u64 > MAX_ICE_OFFER_BYTES {
            return Err(format!("an answer over {MAX_ICE_OFFER_BYTES} bytes"));
        }
        serde_json::from_slice::<IceOffer>(&answer)
            .map(Some)
            .map_err(|e| format!("a bad answer: {e}"))
    };
    match with_timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(Some(offer))) => IceOutcome::Offer(offer),
        Ok(Ok(None)) => IceOutcome::Unavailable,
        Ok(Err(reason)) => IceOutcome::Failed(reason),
        Err(_) => IceOutcome::Failed("no answer within 10 s".into()),
    }
}
