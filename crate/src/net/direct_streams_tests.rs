use super::*;
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::swarm::Swarm;
use libp2p_swarm_test::SwarmExt;
use std::task::Poll;

const PROTOCOL: StreamProtocol = StreamProtocol::new("/test/direct-streams");

fn everything(_: &ConnectedPoint) -> bool {
    true
}

fn nothing(_: &ConnectedPoint) -> bool {
    false
}

/// Two swarms whose connections `accepts` filters, connected, each with its control and the
/// streams opened to it.
async fn pair(accepts: Accepts) -> ([Swarm<Behaviour>; 2], [Control; 2], [IncomingStreams; 2]) {
    let mut controls = Vec::new();
    let mut incoming = Vec::new();
    let mut make = || {
        Swarm::new_ephemeral_tokio(|_| {
            let (behaviour, control, streams) = Behaviour::new(PROTOCOL, accepts);
            controls.push(control);
            incoming.push(streams);
            behaviour
        })
    };
    let (mut a, mut b) = (make(), make());
    b.listen().with_memory_addr_external().await;
    a.connect(&mut b).await;
    let [ca, cb] =
        <[Control; 2]>::try_from(controls).unwrap_or_else(|_| unreachable!("two swarms"));
    let [ia, ib] =
        <[IncomingStreams; 2]>::try_from(incoming).unwrap_or_else(|_| unreachable!("two swarms"));
    ([a, b], [ca, cb], [ia, ib])
}

fn handler() -> (Handler, IncomingStreams) {
    let (incoming, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
    let handler = Handler {
        protocol: PROTOCOL,
        peer: PeerId::random(),
        incoming,
        waiting: VecDeque::new(),
        opening: 0,
    };
    (handler, incoming_rx)
}

/// Polls the handler until it asks for nothing more; returns how many streams it asked for.
fn requests(handler: &mut Handler) -> usize {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut asked = 0;
    while let Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest { .. }) =
        handler.poll(&mut cx)
    {
        asked += 1;
    }
    asked
}

#[test]
fn a_connection_negotiates_many_streams_at_once_up_to_its_bound() {
    let (mut handler, _incoming) = handler();
    let ask = |handler: &mut Handler, n: usize| {
        (0..n)
            .map(|_| {
                let (reply, answer) = oneshot::channel();
                handler.on_behaviour_event(reply);
                answer
            })
            .collect::<Vec<_>>()
    };
    let _first = ask(&mut handler, MAX_OPENING);
    assert_eq!(
        requests(&mut handler),
        MAX_OPENING,
        "every stream up to the bound is asked for before any is negotiated"
    );
    assert!(handler.connection_keep_alive());
    let mut more = ask(&mut handler, MAX_WAITING + 3);
    assert_eq!(
        requests(&mut handler),
        0,
        "no more while the bound is reached"
    );
    let failed: Vec<_> = more
        .iter_mut()
        .filter_map(|answer| answer.try_recv().ok().flatten())
        .collect();
    assert_eq!(
        failed.len(),
        3,
        "past the waiting bound, requests fail at once"
    );
    assert!(failed
        .iter()
        .all(|r| matches!(r, Err(OpenStreamError::TooMany))));
    // One negotiation ends (here, timing out): the next waiting request starts.
    let (reply, mut timed_out) = oneshot::channel();
    handler.on_connection_event(ConnectionEvent::DialUpgradeError(DialUpgradeError {
        info: reply,
        error: StreamUpgradeError::Timeout,
    }));
    assert!(matches!(
        timed_out.try_recv(),
        Ok(Some(Err(OpenStreamError::Timeout)))
    ));
    assert_eq!(requests(&mut handler), 1);
}

#[tokio::test]
async fn many_streams_open_to_a_peer_and_carry_bytes() {
    let ([a, b], [mut control, _], [_, mut incoming]) = pair(everything).await;
    let b_id = *b.local_peer_id();
    let a_id = *a.local_peer_id();
    tokio::spawn(a.loop_on_next());
    tokio::spawn(b.loop_on_next());
    let opened = futures::future::join_all((0..40).map(|_| {
        let mut control = control.clone();
        async move { control.open_stream(b_id).await }
    }))
    .await;
    assert!(opened.iter().all(Result::is_ok), "{opened:?}");
    drop(opened);
    let mut stream = control.open_stream(b_id).await.expect("opens");
    stream.write_all(b"piece").await.expect("writes");
    stream.close().await.expect("closes");
    let mut got = Vec::new();
    for _ in 0..41 {
        let (from, mut inbound) = incoming.next().await.expect("a stream");
        assert_eq!(from, a_id);
        let mut bytes = Vec::new();
        if inbound.read_to_end(&mut bytes).await.is_ok() && !bytes.is_empty() {
            got = bytes;
        }
    }
    assert_eq!(got, b"piece");
}

#[tokio::test]
async fn no_stream_goes_over_a_connection_the_filter_refuses() {
    let ([a, b], [mut control, _], _) = pair(nothing).await;
    let b_id = *b.local_peer_id();
    tokio::spawn(a.loop_on_next());
    tokio::spawn(b.loop_on_next());
    assert_eq!(
        control.open_stream(b_id).await.err(),
        Some(OpenStreamError::NotConnected(b_id)),
        "failed at once, without a dial"
    );
}

#[tokio::test]
async fn streams_the_owner_does_not_take_are_reset_past_the_bound() {
    let ([a, b], [mut control, _], [_, mut incoming]) = pair(everything).await;
    let b_id = *b.local_peer_id();
    tokio::spawn(a.loop_on_next());
    tokio::spawn(b.loop_on_next());
    let extra = 5;
    let mut streams = Vec::new();
    for _ in 0..INCOMING_QUEUE + extra {
        streams.push(control.open_stream(b_id).await.expect("negotiated"));
    }
    // Every stream is negotiated; the owner takes none. Let the last ones reach the queue.
    let mut probe = control.open_stream(b_id).await.expect("negotiated");
    let _ = probe.write_all(b"x").await;
    let mut queued = 0;
    while incoming.try_recv().is_ok() {
        queued += 1;
    }
    // The bound, plus the one place the connection's sender always has.
    assert_eq!(
        queued,
        INCOMING_QUEUE + 1,
        "the queue holds its bound, no more"
    );
}
