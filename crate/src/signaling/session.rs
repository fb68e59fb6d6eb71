//! One signaling exchange as a sans-IO state machine: feed it what happened (local descriptions
//! and candidates, bytes from the stream, the peer connection's state, the time) and it says what
//! to do (bytes to send, descriptions and candidates to apply, done or why it failed).
//!
//! ```text
//! offerer:  WaitLocalDescription --offer sent--> WaitRemoteDescription --answer--> Exchanging --connected--> Done
//! answerer: WaitRemoteDescription --offer--> WaitLocalDescription --answer sent--> Exchanging --connected--> Done
//! ```
//! Local candidates produced before our description is sent wait for it; remote candidates must
//! follow the remote description on the (ordered) stream, anything else is out of order.

use super::ice_candidates::SeenCandidates;
use super::message::{MessageError, Signal, SignalDecoder};
use bytes::Bytes;
use std::{collections::VecDeque, time::Duration};

/// Remote candidates accepted per exchange; a browser gathers a handful.
pub const MAX_REMOTE_CANDIDATES: usize = 64;

/// Which side of the exchange we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opened the signaling stream (dialer); sends the offer.
    Offerer,
    /// Accepted the signaling stream (listener); sends the answer.
    Answerer,
}

/// Which kind of remote description to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    /// The remote's offer (we are the answerer: create an answer next).
    Offer,
    /// The remote's answer.
    Answer,
}

/// What happened, for [`Session::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Our description (offer or answer, by role) was created and set locally.
    LocalDescription(String),
    /// Our ICE agent found a candidate (`RTCIceCandidate.toJSON()` as JSON), or finished (`None`).
    LocalCandidate(Option<String>),
    /// Bytes read from the signaling stream.
    StreamBytes(Bytes),
    /// The remote closed its side of the signaling stream.
    StreamClosed,
    /// The peer connection reached `connected`.
    Connected,
    /// The peer connection reached `failed` (ICE or DTLS).
    Failed(String),
}

/// What to do, from [`Session::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the signaling stream.
    Send(Bytes),
    /// Apply the remote description.
    SetRemoteDescription(SdpKind, String),
    /// Add a remote candidate (`None`: the remote has no more).
    AddRemoteCandidate(Option<String>),
    /// The direct connection is up: close the signaling stream.
    Done,
}

/// Why the exchange failed; each is a distinct, explicit outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalingError {
    /// The descriptions were not exchanged before the deadline.
    #[error("signaling timed out after {0:?}")]
    Timeout(Duration),
    /// Descriptions exchanged, but ICE found no direct path between the peers: the checks
    /// failed, or did not succeed before the deadline.
    #[error("no direct path to the peer ({reason}): {candidates}")]
    NoPath {
        /// How it ended: ICE failure or the deadline.
        reason: String,
        /// The candidates each side offered (what was missing).
        candidates: SeenCandidates,
    },
    /// The remote closed or reset the stream before sending its description.
    #[error("remote refused: signaling stream closed before its description")]
    RemoteRefused,
    /// The remote sent bytes that are not a signaling message.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The remote sent a valid message at the wrong time.
    #[error("out-of-order signaling message: {0}")]
    OutOfOrder(&'static str),
    /// The remote sent more than [`MAX_REMOTE_CANDIDATES`] candidates.
    #[error("remote sent more than {MAX_REMOTE_CANDIDATES} ICE candidates")]
    TooManyCandidates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    WaitLocalDescription,
    WaitRemoteDescription,
    Exchanging,
    Done,
    Failed,
}

/// One signaling exchange.
#[derive(Debug)]
pub struct Session {
    role: Role,
    state: State,
    deadline: Duration,
    timeout: Duration,
    decoder: SignalDecoder,
    sent_description: bool,
    have_remote_description: bool,
    remote_closed: bool,
    remote_candidates: usize,
    seen: SeenCandidates,
    unsent_local_candidates: Vec<Option<String>>,
    outputs: VecDeque<Output>,
}

impl Session {
    /// Starts an exchange at `now` that must connect within `timeout`.
    pub fn new(role: Role, now: Duration, timeout: Duration) -> Self {
        Self {
            role,
            state: match role {
                Role::Offerer => State::WaitLocalDescription,
                Role::Answerer => State::WaitRemoteDescription,
            },
            deadline: now + timeout,
            timeout,
            decoder: SignalDecoder::default(),
            sent_description: false,
            have_remote_description: false,
            remote_closed: false,
            remote_candidates: 0,
            seen: SeenCandidates::default(),
            unsent_local_candidates: Vec::new(),
            outputs: VecDeque::new(),
        }
    }

    /// Whether the exchange ended well.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// When [`Session::handle_timeout`] must be called next, if the exchange is still running.
    pub fn poll_timeout(&self) -> Option<Duration> {
        matches!(
            self.state,
            State::WaitLocalDescription | State::WaitRemoteDescription | State::Exchanging
        )
        .then_some(self.deadline)
    }

    /// Fails the exchange if its deadline has passed.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), SignalingError> {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            return self.fail(if self.state == State::Exchanging {
                self.no_path(format!("ICE checks unfinished after {:?}", self.timeout))
            } else {
                SignalingError::Timeout(self.timeout)
            });
        }
        Ok(())
    }

    /// The next thing to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Feeds one input. After an error the session is finished: reset the stream and close the
    /// peer connection.
    pub fn handle(&mut self, now: Duration, input: Input) -> Result<(), SignalingError> {
        if matches!(self.state, State::Done | State::Failed) {
            return Ok(());
        }
        self.handle_timeout(now)?;
        match input {
            Input::LocalDescription(sdp) => self.on_local_description(sdp),
            Input::LocalCandidate(candidate) => {
                if let Some(candidate) = &candidate {
                    self.seen.local.note(candidate);
                }
                if self.sent_description {
                    self.send(Signal::Candidate(candidate));
                } else {
                    self.unsent_local_candidates.push(candidate);
                }
                Ok(())
            }
            Input::StreamBytes(bytes) => {
                self.decoder.push(&bytes);
                loop {
                    match self.decoder.next_message() {
                        Ok(Some(signal)) => self.on_remote(signal)?,
                        Ok(None) => return Ok(()),
                        Err(e) => return self.fail(e.into()),
                    }
                }
            }
            Input::StreamClosed => {
                self.remote_closed = true;
                if self.have_remote_description {
                    Ok(()) // It may have seen the connection first; wait for ours.
                } else {
                    self.fail(SignalingError::RemoteRefused)
                }
            }
            Input::Connected => {
                if self.state == State::Exchanging {
                    self.state = State::Done;
                    self.outputs.push_back(Output::Done);
                }
                Ok(())
            }
            Input::Failed(reason) => {
                let error = self.no_path(reason);
                self.fail(error)
            }
        }
    }

    fn on_local_description(&mut self, sdp: String) -> Result<(), SignalingError> {
        if self.state != State::WaitLocalDescription {
            return Ok(()); // A renegotiation we did not ask for; nothing to send.
        }
        self.send(match self.role {
            Role::Offerer => Signal::Offer(sdp),
            Role::Answerer => Signal::Answer(sdp),
        });
        self.sent_description = true;
        for candidate in std::mem::take(&mut self.unsent_local_candidates) {
            self.send(Signal::Candidate(candidate));
        }
        self.state = match self.role {
            Role::Offerer => State::WaitRemoteDescription,
            Role::Answerer => State::Exchanging,
        };
        Ok(())
    }

    fn on_remote(&mut self, signal: Signal) -> Result<(), SignalingError> {
        match (signal, self.role) {
            (Signal::Offer(_), Role::Offerer) => {
                self.fail(SignalingError::OutOfOrder("an offer sent to the offerer"))
            }
            (Signal::Answer(_), Role::Answerer) => {
                self.fail(SignalingError::OutOfOrder("an answer sent to the answerer"))
            }
            (Signal::Offer(_) | Signal::Answer(_), _) if self.have_remote_description => {
                self.fail(SignalingError::OutOfOrder("a second description"))
            }
            (Signal::Offer(sdp), Role::Answerer) => {
                self.have_remote_description = true;
                self.outputs
                    .push_back(Output::SetRemoteDescription(SdpKind::Offer, sdp));
                self.state = State::WaitLocalDescription;
                Ok(())
            }
            (Signal::Answer(sdp), Role::Offerer) => {
                self.have_remote_description = true;
                self.outputs
                    .push_back(Output::SetRemoteDescription(SdpKind::Answer, sdp));
                self.state = State::Exchanging;
                Ok(())
            }
            (Signal::Candidate(_), _) if !self.have_remote_description => self.fail(
                SignalingError::OutOfOrder("a candidate before the description"),
            ),
            (Signal::Candidate(candidate), _) => {
                self.remote_candidates += 1;
                if self.remote_candidates > MAX_REMOTE_CANDIDATES {
                    return self.fail(SignalingError::TooManyCandidates);
                }
                if let Some(candidate) = &candidate {
                    self.seen.remote.note(candidate);
                }
                self.outputs
                    .push_back(Output::AddRemoteCandidate(candidate));
                Ok(())
            }
        }
    }

    fn no_path(&self, reason: String) -> SignalingError {
        SignalingError::NoPath {
            reason,
            candidates: self.seen,
        }
    }

    fn send(&mut self, signal: Signal) {
        self.outputs.push_back(Output::Send(signal.encode()));
    }

    fn fail(&mut self, error: SignalingError) -> Result<(), SignalingError> {
        self.state = State::Failed;
        self.outputs.clear();
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::ZERO;
    const LIMIT: Duration = Duration::from_secs(10);

    fn bytes(signals: &[Signal]) -> Input {
        Input::StreamBytes(
            signals
                .iter()
                .flat_map(|s| s.encode().to_vec())
                .collect::<Vec<u8>>()
                .into(),
        )
    }

    fn drain(session: &mut Session) -> Vec<Output> {
        std::iter::from_fn(|| session.poll_output()).collect()
    }

    fn sent(outputs: &[Output]) -> Vec<Signal> {
        let mut decoder = SignalDecoder::default();
        for output in outputs {
            if let Output::Send(b) = output {
                decoder.push(b);
            }
        }
        std::iter::from_fn(|| decoder.next_message().expect("we send valid messages")).collect()
    }

    fn candidate(n: u8) -> Option<String> {
        Some(format!(
            r#"{{"candidate":"candidate:{n} 1 UDP 1 10.0.0.{n} 5000 typ host","sdpMid":"0"}}"#
        ))
    }

    #[test]
    fn offerer_happy_path() {
        let mut s = Session::new(Role::Offerer, T0, LIMIT);
        // The browser may report a candidate before we got to send the offer.
        s.handle(T0, Input::LocalCandidate(candidate(1)))
            .expect("ok");
        assert!(drain(&mut s).is_empty());
        s.handle(T0, Input::LocalDescription("offer-sdp".into()))
            .expect("ok");
        assert_eq!(
            sent(&drain(&mut s)),
            vec![
                Signal::Offer("offer-sdp".into()),
                Signal::Candidate(candidate(1))
            ]
        );
        s.handle(
            T0,
            bytes(&[
                Signal::Answer("answer-sdp".into()),
                Signal::Candidate(candidate(2)),
            ]),
        )
        .expect("ok");
        assert_eq!(
            drain(&mut s),
            vec![
                Output::SetRemoteDescription(SdpKind::Answer, "answer-sdp".into()),
                Output::AddRemoteCandidate(candidate(2)),
            ]
        );
        s.handle(T0, Input::LocalCandidate(None)).expect("ok");
        assert_eq!(sent(&drain(&mut s)), vec![Signal::Candidate(None)]);
        s.handle(T0, Input::Connected).expect("ok");
        assert_eq!(drain(&mut s), vec![Output::Done]);
        assert!(s.is_done());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn answerer_happy_path_with_message_split_across_reads() {
        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        let Input::StreamBytes(wire) = bytes(&[
            Signal::Offer("offer-sdp".into()),
            Signal::Candidate(candidate(1)),
        ]) else {
            unreachable!()
        };
        s.handle(T0, Input::StreamBytes(wire.slice(..3)))
            .expect("ok");
        assert!(drain(&mut s).is_empty());
        s.handle(T0, Input::StreamBytes(wire.slice(3..)))
            .expect("ok");
        assert_eq!(
            drain(&mut s),
            vec![
                Output::SetRemoteDescription(SdpKind::Offer, "offer-sdp".into()),
                Output::AddRemoteCandidate(candidate(1)),
            ]
        );
        s.handle(T0, Input::LocalDescription("answer-sdp".into()))
            .expect("ok");
        assert_eq!(
            sent(&drain(&mut s)),
            vec![Signal::Answer("answer-sdp".into())]
        );
        // The offerer saw the connection first and closed the stream: not an error.
        s.handle(T0, Input::StreamClosed).expect("ok");
        s.handle(T0, Input::Connected).expect("ok");
        assert_eq!(drain(&mut s), vec![Output::Done]);
    }

    #[test]
    fn out_of_order_messages_are_errors() {
        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        let err = s
            .handle(T0, bytes(&[Signal::Candidate(candidate(1))]))
            .expect_err("candidate first");
        assert_eq!(
            err,
            SignalingError::OutOfOrder("a candidate before the description")
        );

        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        let err = s
            .handle(T0, bytes(&[Signal::Answer("x".into())]))
            .expect_err("answer to answerer");
        assert_eq!(
            err,
            SignalingError::OutOfOrder("an answer sent to the answerer")
        );

        let mut s = Session::new(Role::Offerer, T0, LIMIT);
        s.handle(T0, Input::LocalDescription("offer".into()))
            .expect("ok");
        let err = s
            .handle(T0, bytes(&[Signal::Offer("x".into())]))
            .expect_err("offer to offerer");
        assert_eq!(
            err,
            SignalingError::OutOfOrder("an offer sent to the offerer")
        );

        let mut s = Session::new(Role::Offerer, T0, LIMIT);
        s.handle(T0, Input::LocalDescription("offer".into()))
            .expect("ok");
        let err = s
            .handle(
                T0,
                bytes(&[Signal::Answer("a".into()), Signal::Answer("b".into())]),
            )
            .expect_err("two answers");
        assert_eq!(err, SignalingError::OutOfOrder("a second description"));
        assert!(
            drain(&mut s).is_empty(),
            "nothing is applied after an error"
        );
    }

    #[test]
    fn malformed_bytes_fail_the_exchange_and_later_input_is_ignored() {
        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        let err = s
            .handle(T0, Input::StreamBytes(Bytes::from_static(&[2, 0xff, 0xff])))
            .expect_err("malformed");
        assert!(
            matches!(err, SignalingError::Message(MessageError::Malformed(_))),
            "{err}"
        );
        s.handle(T0, Input::Connected).expect("ignored once failed");
        assert!(drain(&mut s).is_empty());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn remote_closing_before_its_description_is_a_refusal() {
        let mut s = Session::new(Role::Offerer, T0, LIMIT);
        s.handle(T0, Input::LocalDescription("offer".into()))
            .expect("ok");
        assert_eq!(
            s.handle(T0, Input::StreamClosed),
            Err(SignalingError::RemoteRefused)
        );
    }

    #[test]
    fn ice_failure_and_timeout_are_distinct_errors() {
        let mut s = Session::new(Role::Offerer, T0, LIMIT);
        s.handle(T0, Input::LocalDescription("offer".into()))
            .expect("ok");
        s.handle(T0, bytes(&[Signal::Answer("a".into())]))
            .expect("ok");
        s.handle(T0, Input::LocalCandidate(Some("typ host".into())))
            .expect("ok");
        s.handle(T0, bytes(&[Signal::Candidate(Some("typ srflx".into()))]))
            .expect("ok");
        let Err(failed) = s.handle(T0, Input::Failed("ICE failed".into())) else {
            panic!("a failure")
        };
        assert!(
            failed
                .to_string()
                .starts_with("no direct path to the peer (ICE failed): candidates here: host; there: srflx. A side without a srflx candidate had no STUN server"),
            "{failed}"
        );

        // Descriptions exchanged, no connection by the deadline: no path, not a signaling timeout.
        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        s.handle(T0, bytes(&[Signal::Offer("o".into())]))
            .expect("ok");
        s.handle(T0, Input::LocalDescription("a".into()))
            .expect("ok");
        assert!(matches!(
            s.handle_timeout(LIMIT),
            Err(SignalingError::NoPath { .. })
        ));

        let mut s = Session::new(Role::Offerer, T0, LIMIT);
        assert_eq!(s.poll_timeout(), Some(LIMIT));
        s.handle_timeout(LIMIT - Duration::from_millis(1))
            .expect("not yet");
        assert_eq!(s.handle_timeout(LIMIT), Err(SignalingError::Timeout(LIMIT)));
        // Input arriving late also reports the timeout rather than acting on it.
        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        assert_eq!(
            s.handle(LIMIT, bytes(&[Signal::Offer("o".into())])),
            Err(SignalingError::Timeout(LIMIT))
        );
    }

    #[test]
    fn candidate_flood_is_bounded() {
        let mut s = Session::new(Role::Answerer, T0, LIMIT);
        s.handle(T0, bytes(&[Signal::Offer("o".into())]))
            .expect("ok");
        let flood: Vec<Signal> = (0..=MAX_REMOTE_CANDIDATES)
            .map(|n| Signal::Candidate(candidate(n as u8)))
            .collect();
        assert_eq!(
            s.handle(T0, bytes(&flood)),
            Err(SignalingError::TooManyCandidates)
        );
    }
}
