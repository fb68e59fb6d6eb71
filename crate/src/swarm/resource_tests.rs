//! The rules of [`ResourceSwarm`] one at a time, on a hand-driven clock. (Whole swarms of them
//! run in `crate/tests/swarm_simulation.rs`.)

use std::time::Duration;

use bytes::Bytes;

use super::{
    make_room, DownloadError, Input, Output, ResourceConfig, ResourceSwarm, Stage,
    MAX_REMEMBERED_PEERS,
};
use crate::content::bitfield::Bitfield;
use crate::content::content_hasher::ContentHasher;
use crate::content::content_id::ContentId;
use crate::content::piece_layout::PieceLayout;
use crate::content::piece_proof::encode_piece;
use crate::content::Outboard;
use crate::error::{ErrorCode, PeerError};
use crate::swarm::message::{RejectReason, SwarmMessage};
use crate::swarm::upload_queue::Upload;

const S: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);
const LOCAL: u32 = 0;

struct Content {
    bytes: Vec<u8>,
    id: ContentId,
    outboard: Outboard,
}

/// Three pieces of made-up content.
fn content() -> Content {
    let bytes: Vec<u8> = (0..2 * 1024 * 1024 + 777)
        .map(|i| (i % 251) as u8)
        .collect();
    let mut hasher = ContentHasher::new(bytes.len() as u64).unwrap();
    hasher.update(&bytes).unwrap();
    let (id, outboard) = hasher.finish().unwrap();
    Content {
        bytes,
        id,
        outboard,
    }
}

impl Content {
    fn pieces(&self) -> u32 {
        PieceLayout::of(&self.id).piece_count()
    }

    fn piece(&self, index: u32) -> &[u8] {
        let range = PieceLayout::of(&self.id).piece_bytes(index).unwrap();
        &self.bytes[range.start as usize..range.end as usize]
    }

    fn encoded(&self, index: u32) -> Bytes {
        encode_piece(&self.outboard, index, self.piece(index)).unwrap()
    }
}

fn outputs(swarm: &mut ResourceSwarm<u32>) -> Vec<Output<u32>> {
    std::iter::from_fn(|| swarm.poll_output()).collect()
}

/// The page asks for the resource, storage holding `have`.
fn download_input(have: Bitfield, patience: Duration) -> Input<u32> {
    Input::Download {
        have,
        not_found_after: patience,
        seed: 1,
    }
}

fn downloading(content: &Content, patience: Duration) -> ResourceSwarm<u32> {
    let mut swarm = ResourceSwarm::new(content.id, LOCAL, ResourceConfig::default());
    let have = Bitfield::empty(content.pieces());
    swarm.handle(Duration::ZERO, download_input(have, patience));
    swarm
}

fn holding(content: &Content) -> ResourceSwarm<u32> {
    let mut swarm = ResourceSwarm::new(content.id, LOCAL, ResourceConfig::default());
    swarm.handle(
        Duration::ZERO,
        Input::Hold(Bitfield::full(content.pieces())),
    );
    outputs(&mut swarm);
    swarm
}

fn link_up(swarm: &mut ResourceSwarm<u32>, now: Duration, link: u64, peer: u32, outbound: bool) {
    let input = Input::LinkUp {
        link,
        peer,
        outbound,
    };
    swarm.handle(now, input);
}

/// A download linked (link 1) to peer 2, which says it holds every piece; the requests (id,
/// piece) the swarm sent it.
fn asking_a_provider_of_everything(content: &Content) -> (ResourceSwarm<u32>, Vec<(u32, u32)>) {
    let mut swarm = downloading(content, 15 * S);
    outputs(&mut swarm);
    link_up(&mut swarm, MS, 1, 2, true);
    let full = Bytes::copy_from_slice(Bitfield::full(content.pieces()).as_bytes());
    swarm.handle(MS, Input::Message(1, SwarmMessage::Have(full)));
    let requests = outputs(&mut swarm)
        .into_iter()
        .filter_map(|o| match o {
            Output::Send(1, SwarmMessage::Request { id, piece }) => Some((id, piece)),
            _ => None,
        })
        .collect();
    (swarm, requests)
}

fn dials(outputs: &[Output<u32>]) -> Vec<u32> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Dial(peer) => Some(*peer),
            _ => None,
        })
        .collect()
}

#[test]
fn a_download_provides_looks_up_and_dials_providers_up_to_the_cap_never_itself() {
    let content = content();
    let mut swarm = downloading(&content, 15 * S);
    let first = outputs(&mut swarm);
    assert!(first.contains(&Output::Provide));
    assert!(first.contains(&Output::Lookup));
    swarm.handle(MS, Input::Providers(Ok((0..20).collect())));
    let dialed = dials(&outputs(&mut swarm));
    assert_eq!(
        dialed,
        (1..=8).collect::<Vec<_>>(),
        "itself skipped, eight at most"
    );
    // No room for more links: no lookup however long it waits.
    swarm.handle(10 * S, Input::Tick);
    assert!(!outputs(&mut swarm).contains(&Output::Lookup));
}

#[test]
fn lookups_repeat_while_there_is_room_and_at_once_when_a_link_drops() {
    let content = content();
    let mut swarm = downloading(&content, 60 * S);
    outputs(&mut swarm);
    swarm.handle(MS, Input::Providers(Ok(vec![7])));
    outputs(&mut swarm);
    swarm.handle(2 * S, Input::Tick);
    assert!(!outputs(&mut swarm).contains(&Output::Lookup), "too soon");
    swarm.handle(3 * S, Input::Tick);
    assert!(outputs(&mut swarm).contains(&Output::Lookup));
    link_up(&mut swarm, 3 * S, 1, 7, true);
    outputs(&mut swarm);
    swarm.handle(3 * S + MS, Input::LinkClosed(1));
    assert!(outputs(&mut swarm).contains(&Output::Lookup));
}

#[test]
fn a_provider_answer_naming_nobody_else_ends_the_download_after_its_patience() {
    let content = content();
    let mut swarm = downloading(&content, 5 * S);
    outputs(&mut swarm);
    swarm.handle(MS, Input::Providers(Ok(vec![LOCAL])));
    // Every lookup is answered at once, naming only this tab.
    let tick = |swarm: &mut ResourceSwarm<u32>, now| {
        swarm.handle(now, Input::Tick);
        let out = outputs(swarm);
        if out.contains(&Output::Lookup) {
            swarm.handle(now, Input::Providers(Ok(vec![LOCAL])));
            return outputs(swarm);
        }
        out
    };
    for second in 1..5 {
        let out = tick(&mut swarm, second * S);
        assert!(!out.iter().any(|o| matches!(o, Output::Failed(_))));
    }
    let failed = tick(&mut swarm, 5 * S);
    assert!(
        failed.contains(&Output::Failed(DownloadError::NotFound {
            id: content.id,
            waited: 5 * S
        })),
        "{failed:?}"
    );
    assert_eq!(swarm.stage(), None);
}

#[test]
fn a_failing_server_counts_as_an_answer_after_three_failures() {
    let content = content();
    let mut swarm = downloading(&content, Duration::ZERO);
    outputs(&mut swarm);
    for _ in 0..2 {
        swarm.handle(MS, Input::Providers(Err("lost".into())));
        assert_eq!(swarm.stage(), Some(Stage::Downloading));
    }
    swarm.handle(MS, Input::Providers(Err("lost".into())));
    assert_eq!(swarm.stage(), None);
}

#[test]
fn a_linked_peer_that_has_not_said_what_it_holds_keeps_the_download_alive() {
    let content = content();
    let mut swarm = downloading(&content, Duration::ZERO);
    outputs(&mut swarm);
    swarm.handle(MS, Input::Providers(Ok(vec![3])));
    link_up(&mut swarm, 2 * MS, 5, 3, true);
    swarm.handle(S, Input::Tick);
    assert_eq!(swarm.stage(), Some(Stage::Downloading));
    // It holds nothing: nothing more can come.
    let none = Bytes::copy_from_slice(Bitfield::empty(content.pieces()).as_bytes());
    swarm.handle(S, Input::Message(5, SwarmMessage::Have(none)));
    swarm.handle(S + MS, Input::Tick);
    assert_eq!(swarm.stage(), None);
}

#[test]
fn when_both_tabs_open_a_stream_both_keep_the_one_the_smaller_peer_id_opened() {
    let content = content();
    // Peer 5 > LOCAL 0: the stream this tab opened wins, whichever came first.
    for inbound_first in [true, false] {
        let mut swarm = holding(&content);
        let (ours, theirs) = (1, 2);
        let order = if inbound_first {
            [(theirs, false), (ours, true)]
        } else {
            [(ours, true), (theirs, false)]
        };
        for (link, outbound) in order {
            link_up(&mut swarm, MS, link, 5, outbound);
        }
        let out = outputs(&mut swarm);
        assert!(out.contains(&Output::Close(theirs)), "{out:?}");
        assert!(!out.contains(&Output::Close(ours)), "{out:?}");
        assert!(swarm.peers().iter().any(|p| p.peer == 5 && p.linked));
    }
}

#[test]
fn uploads_go_a_few_at_a_time_per_peer_and_a_bad_read_is_rejected_and_forgotten() {
    let content = content();
    let mut swarm = holding(&content);
    link_up(&mut swarm, MS, 1, 4, false);
    outputs(&mut swarm);
    for id in 0..6 {
        let request = SwarmMessage::Request {
            id,
            piece: id % content.pieces(),
        };
        swarm.handle(MS, Input::Message(1, request));
    }
    let reads: Vec<Upload<u32>> = outputs(&mut swarm)
        .into_iter()
        .filter_map(|o| match o {
            Output::Read(upload) => Some(upload),
            _ => None,
        })
        .collect();
    assert_eq!(reads.len(), 4, "four at once per peer");
    swarm.handle(
        2 * MS,
        Input::Read(reads[0], Ok(content.encoded(reads[0].piece))),
    );
    let sent = outputs(&mut swarm);
    assert!(
        matches!(&sent[0], Output::Upload(1, upload, SwarmMessage::Piece { .. }) if *upload == reads[0])
    );
    swarm.handle(3 * MS, Input::Read(reads[1], Err("damaged".into())));
    let out = outputs(&mut swarm);
    assert!(out.contains(&Output::Send(
        1,
        SwarmMessage::Reject {
            id: reads[1].id,
            reason: RejectReason::NotHave
        }
    )));
    assert!(!swarm.have().contains(reads[1].piece));
    // The failed read freed a slot: the fifth request is read now.
    assert_eq!(
        out.iter().filter(|o| matches!(o, Output::Read(_))).count(),
        1
    );
    swarm.handle(4 * MS, Input::Uploaded(4, 1000));
    assert_eq!(swarm.peers()[0].sent, 1000);
}

#[test]
fn the_resource_is_handed_out_only_once_every_piece_is_written() {
    let content = content();
    let (mut swarm, requests) = asking_a_provider_of_everything(&content);
    assert_eq!(requests.len() as u32, content.pieces());
    let mut writes = Vec::new();
    for (id, piece) in requests {
        let encoded = content.encoded(piece);
        swarm.handle(
            2 * MS,
            Input::Message(1, SwarmMessage::Piece { id, piece, encoded }),
        );
        for output in outputs(&mut swarm) {
            assert_ne!(output, Output::Assemble, "handed out before the writes");
            if let Output::Write(index, _) = output {
                writes.push(index);
            }
        }
    }
    assert_eq!(swarm.stage(), Some(Stage::Writing));
    // Until written, the swarm keeps each piece's bytes (for a caller that needs them now).
    assert_eq!(swarm.unwritten().len(), writes.len());
    for (index, stored) in swarm.unwritten() {
        let bytes = content.piece(*index);
        assert_eq!(&stored[..bytes.len()], bytes);
    }
    let last = writes.pop().unwrap();
    for index in writes {
        swarm.handle(3 * MS, Input::Written(index, Ok(())));
        assert!(!outputs(&mut swarm).contains(&Output::Assemble));
    }
    swarm.handle(3 * MS, Input::Written(last, Ok(())));
    assert!(outputs(&mut swarm).contains(&Output::Assemble));
    swarm.handle(4 * MS, Input::Assembled);
    assert_eq!(swarm.stage(), None);
    assert_eq!(swarm.written(), Bitfield::full(content.pieces()));
    assert!(swarm.unwritten().is_empty());
}

#[test]
fn a_link_between_two_whole_holders_closes_and_one_to_a_peer_still_missing_pieces_stays() {
    let content = content();
    let (mut swarm, requests) = asking_a_provider_of_everything(&content);
    // Peer 3 holds nothing yet.
    link_up(&mut swarm, MS, 2, 3, false);
    let none = Bytes::copy_from_slice(Bitfield::empty(content.pieces()).as_bytes());
    swarm.handle(MS, Input::Message(2, SwarmMessage::Have(none)));
    outputs(&mut swarm);
    let mut out = Vec::new();
    for (id, piece) in requests {
        let encoded = content.encoded(piece);
        let message = SwarmMessage::Piece { id, piece, encoded };
        swarm.handle(2 * MS, Input::Message(1, message));
        out.extend(outputs(&mut swarm));
        if swarm.have().is_full() {
            break;
        }
        assert!(!closed(&out, 1), "kept while pieces are missing");
    }
    assert!(
        closed(&out, 1),
        "the provider's link closes once this tab holds everything"
    );
    assert!(
        !closed(&out, 2),
        "a peer that still needs pieces keeps its link"
    );
    let announced_then_closed = out
        .iter()
        .position(|o| matches!(o, Output::Send(1, SwarmMessage::HavePiece(_))))
        .is_none_or(|sent| Some(sent) < out.iter().position(|o| *o == Output::Close(1)));
    assert!(announced_then_closed);

    // A whole holder linking in closes once it says it is whole, not before.
    link_up(&mut swarm, 3 * MS, 4, 5, false);
    assert!(
        !closed(&outputs(&mut swarm), 4),
        "kept until it says what it holds"
    );
    let full = Bytes::copy_from_slice(Bitfield::full(content.pieces()).as_bytes());
    swarm.handle(3 * MS, Input::Message(4, SwarmMessage::Have(full)));
    assert!(closed(&outputs(&mut swarm), 4));
    // Peer 3 becoming whole ends its link too.
    for piece in 0..content.pieces() {
        swarm.handle(4 * MS, Input::Message(2, SwarmMessage::HavePiece(piece)));
    }
    assert!(closed(&outputs(&mut swarm), 2));
    assert!(swarm.peers().iter().all(|p| !p.linked));
}

#[test]
fn a_piece_that_cannot_be_written_fails_the_download() {
    let content = content();
    let mut swarm = downloading(&content, 15 * S);
    outputs(&mut swarm);
    link_up(&mut swarm, MS, 1, 2, true);
    swarm.handle(MS, Input::Message(1, SwarmMessage::HavePiece(0)));
    let Some((id, piece)) = outputs(&mut swarm).into_iter().find_map(|o| match o {
        Output::Send(1, SwarmMessage::Request { id, piece }) => Some((id, piece)),
        _ => None,
    }) else {
        panic!("no request");
    };
    let encoded = content.encoded(piece);
    swarm.handle(
        2 * MS,
        Input::Message(1, SwarmMessage::Piece { id, piece, encoded }),
    );
    outputs(&mut swarm);
    let full = PeerError::new(ErrorCode::QuotaFull, "storage quota full");
    swarm.handle(3 * MS, Input::Written(piece, Err(full.clone())));
    let out = outputs(&mut swarm);
    assert!(out.contains(&Output::Failed(DownloadError::Store(full.clone()))));
    let failed = out.into_iter().find_map(|o| match o {
        Output::Failed(e) => Some(PeerError::from(e)),
        _ => None,
    });
    assert_eq!(failed.map(|e| e.code), Some(ErrorCode::QuotaFull));
    assert!(!swarm.have().contains(piece));
}

#[test]
fn a_second_want_or_a_lie_closes_the_stream_and_a_lie_bans_the_peer() {
    let content = content();
    let mut swarm = downloading(&content, 15 * S);
    outputs(&mut swarm);
    for (link, peer) in [(1, 2), (3, 4)] {
        link_up(&mut swarm, MS, link, peer, true);
        swarm.handle(MS, Input::Message(link, SwarmMessage::HavePiece(0)));
    }
    outputs(&mut swarm);
    swarm.handle(2 * MS, Input::Message(1, SwarmMessage::Want(content.id)));
    assert!(outputs(&mut swarm).contains(&Output::Close(1)));
    swarm.handle(2 * MS, Input::Malformed(3, "garbage".into()));
    assert!(outputs(&mut swarm).contains(&Output::Close(3)));
    let mut banned: Vec<u32> = swarm.banned().copied().collect();
    banned.sort();
    assert_eq!(banned, [2, 4]);
    // Banned peers are not dialed again.
    swarm.handle(10 * S, Input::Providers(Ok(vec![2, 4, 6])));
    assert_eq!(dials(&outputs(&mut swarm)), [6]);
}

#[test]
fn pieces_that_come_while_nothing_downloads_are_judged_like_those_that_come_during_one() {
    let content = content();
    let piece = |id, piece, encoded| Input::Message(1, SwarmMessage::Piece { id, piece, encoded });
    // Before any download (the page's waits for its storage check): a true piece for a request
    // never made is a lie.
    let mut swarm = ResourceSwarm::new(content.id, LOCAL, ResourceConfig::default());
    swarm.handle(
        Duration::ZERO,
        Input::Hold(Bitfield::empty(content.pieces())),
    );
    link_up(&mut swarm, MS, 1, 2, false);
    outputs(&mut swarm);
    swarm.handle(2 * MS, piece(7, 0, content.encoded(0)));
    assert!(closed(&outputs(&mut swarm), 1));
    assert_eq!(swarm.banned().copied().collect::<Vec<_>>(), [2]);

    // After a download ended: an answer to one of its requests is let be, a bad one is a lie.
    let (mut swarm, requests) = asking_a_provider_of_everything(&content);
    swarm.handle(S, Input::Cancel);
    outputs(&mut swarm);
    let (id, index) = requests[0];
    swarm.handle(S, piece(id, index, content.encoded(index)));
    assert!(!closed(&outputs(&mut swarm), 1));
    let (id, index) = requests[1];
    let mut garbage = content.encoded(index).to_vec();
    garbage[100] ^= 1;
    swarm.handle(S, piece(id, index, garbage.into()));
    assert!(closed(&outputs(&mut swarm), 1));
    assert_eq!(swarm.banned().copied().collect::<Vec<_>>(), [2]);
}

#[test]
fn only_verified_pieces_count_as_progress_not_bytes_trickled() {
    let content = content();
    let mut swarm = downloading(&content, 2 * S);
    outputs(&mut swarm);
    swarm.handle(MS, Input::Providers(Ok(vec![2])));
    link_up(&mut swarm, MS, 1, 2, true);
    swarm.handle(MS, Input::Message(1, SwarmMessage::HavePiece(0)));
    let (id, piece) = outputs(&mut swarm)
        .into_iter()
        .find_map(|o| match o {
            Output::Send(1, SwarmMessage::Request { id, piece }) => Some((id, piece)),
            _ => None,
        })
        .expect("a request");
    for second in 1..=3 {
        swarm.handle(second * S, Input::Bytes(1));
        let outputs = outputs(&mut swarm);
        assert!(!outputs.contains(&Output::Activity));
        assert!(
            outputs.contains(&Output::Arriving),
            "bytes say the peer sends"
        );
    }
    let encoded = content.encoded(piece);
    swarm.handle(
        4 * S,
        Input::Message(1, SwarmMessage::Piece { id, piece, encoded }),
    );
    assert!(outputs(&mut swarm).contains(&Output::Activity));
}

#[test]
fn a_piece_lost_from_storage_is_no_longer_held_or_offered() {
    let content = content();
    let mut swarm = holding(&content);
    swarm.handle(MS, Input::Lost(1));
    assert!(!swarm.have().contains(1));
    assert!(!swarm.written().contains(1));
    link_up(&mut swarm, MS, 1, 2, false);
    swarm.handle(
        MS,
        Input::Message(1, SwarmMessage::Request { id: 9, piece: 1 }),
    );
    let out = outputs(&mut swarm);
    assert!(out.contains(&Output::Send(
        1,
        SwarmMessage::Reject {
            id: 9,
            reason: RejectReason::NotHave
        }
    )));
}

#[test]
fn peers_linked_before_a_download_starts_are_asked_at_once() {
    let content = content();
    let mut swarm = ResourceSwarm::new(content.id, LOCAL, ResourceConfig::default());
    swarm.handle(
        Duration::ZERO,
        Input::Hold(Bitfield::empty(content.pieces())),
    );
    link_up(&mut swarm, MS, 1, 2, false);
    let full = Bytes::copy_from_slice(Bitfield::full(content.pieces()).as_bytes());
    swarm.handle(MS, Input::Message(1, SwarmMessage::Have(full)));
    outputs(&mut swarm);
    swarm.handle(S, download_input(Bitfield::empty(content.pieces()), S));
    let asked = outputs(&mut swarm)
        .iter()
        .filter(|o| matches!(o, Output::Send(1, SwarmMessage::Request { .. })))
        .count();
    assert_eq!(asked as u32, content.pieces());
}

#[test]
fn a_piece_lost_while_downloading_fails_the_download_instead_of_hanging() {
    let content = content();
    let mut swarm = downloading(&content, 15 * S);
    outputs(&mut swarm);
    // Piece 0 was held (shared earlier); it turns out damaged.
    let mut one = Bitfield::empty(content.pieces());
    one.insert(0);
    swarm.handle(MS, Input::Hold(one));
    swarm.handle(2 * MS, Input::Lost(0));
    assert!(outputs(&mut swarm).iter().any(
        |o| matches!(o, Output::Failed(DownloadError::Store(e)) if e.code == ErrorCode::Storage)
    ));
    assert_eq!(swarm.stage(), None);
}

#[test]
fn strangers_that_link_and_say_nothing_neither_crowd_out_lookups_nor_hold_the_download() {
    let content = content();
    let mut swarm = downloading(&content, 2 * S);
    outputs(&mut swarm);
    for link in 0..10 {
        link_up(&mut swarm, MS, link, 100 + link as u32, false);
    }
    swarm.handle(2 * MS, Input::Providers(Ok(vec![7])));
    assert_eq!(
        dials(&outputs(&mut swarm)),
        [7],
        "inbound links leave room to dial"
    );
    swarm.handle(3 * MS, Input::DialFailed(7));
    let mut now = Duration::ZERO;
    let mut failed_at = None;
    while now < 60 * S && failed_at.is_none() {
        now += S;
        swarm.handle(now, Input::Tick);
        let out = outputs(&mut swarm);
        if out.contains(&Output::Lookup) {
            swarm.handle(now, Input::Providers(Ok(Vec::new())));
        }
        if out
            .iter()
            .chain(outputs(&mut swarm).iter())
            .any(|o| matches!(o, Output::Failed(_)))
        {
            failed_at = Some(now);
        }
    }
    let failed_at = failed_at.expect("the download gave up");
    // Silent peers count for the stall timeout (5 s), then the patience (2 s) runs.
    assert!(failed_at <= 8 * S, "gave up at {failed_at:?}");
}

#[test]
fn a_stalled_peer_is_dropped_and_a_banned_one_stays_out() {
    let content = content();
    let mut swarm = downloading(&content, 600 * S);
    outputs(&mut swarm);
    swarm.handle(MS, Input::Providers(Ok(vec![2, 3])));
    outputs(&mut swarm);
    link_up(&mut swarm, MS, 1, 2, true);
    link_up(&mut swarm, MS, 2, 3, true);
    swarm.handle(MS, Input::Message(1, SwarmMessage::HavePiece(0)));
    swarm.handle(MS, Input::Malformed(2, "junk".into()));
    outputs(&mut swarm);
    // Peer 2 never answers: three stalls drop it.
    let mut now = MS;
    let mut dropped = false;
    while now < 120 * S && !dropped {
        now += S;
        swarm.handle(now, Input::Tick);
        dropped = outputs(&mut swarm)
            .iter()
            .any(|o| matches!(o, Output::Dropped(2, _)));
    }
    assert!(dropped);
    swarm.handle(now, Input::Providers(Ok(vec![2, 3])));
    assert_eq!(
        dials(&outputs(&mut swarm)),
        [2],
        "the liar is banned; the stalled peer's rest is the tab's (see tab_tests)"
    );
    link_up(&mut swarm, now, 9, 3, false);
    assert_eq!(
        outputs(&mut swarm),
        [Output::Close(9)],
        "a banned peer's stream is closed"
    );
}

/// Whether the swarm closed `link` among `outputs`.
fn closed(outputs: &[Output<u32>], link: u64) -> bool {
    outputs.contains(&Output::Close(link))
}

#[test]
fn new_links_from_peers_come_at_a_bounded_rate_and_number() {
    let content = content();
    let mut swarm = holding(&content);
    // A burst of fresh ids: the first 16 are taken, the rest closed at once.
    let mut accepted = 0;
    for peer in 1..=40u32 {
        link_up(&mut swarm, MS, u64::from(peer), peer, false);
        if !closed(&outputs(&mut swarm), u64::from(peer)) {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 16, "the burst");
    // Then one per 250 ms.
    link_up(&mut swarm, 100 * MS, 100, 100, false);
    assert!(closed(&outputs(&mut swarm), 100), "too soon");
    link_up(&mut swarm, 260 * MS, 101, 101, false);
    assert!(!closed(&outputs(&mut swarm), 101), "a token earned");
    // However slowly they come, at most 32 are held at once.
    let mut now = S;
    for peer in 200..260u32 {
        now += S;
        link_up(&mut swarm, now, u64::from(peer), peer, false);
        outputs(&mut swarm);
    }
    let linked = swarm.peers().iter().filter(|p| p.linked).count();
    assert_eq!(linked, 32, "the inbound cap");
    // Links this tab opens are not held back by either.
    link_up(&mut swarm, now, 999, 999, true);
    assert!(!closed(&outputs(&mut swarm), 999));
}

#[test]
fn what_is_remembered_of_peers_is_bounded_and_keeps_the_biggest() {
    let mut counts = std::collections::BTreeMap::new();
    for peer in 0..2 * MAX_REMEMBERED_PEERS as u32 {
        make_room(&mut counts, &peer);
        counts.insert(peer, u64::from(peer) + 1);
    }
    assert_eq!(counts.len(), MAX_REMEMBERED_PEERS);
    assert_eq!(counts.keys().next(), Some(&(MAX_REMEMBERED_PEERS as u32)));
    // A peer already there is updated in place, nobody forgotten.
    let known = *counts.keys().last().unwrap();
    make_room(&mut counts, &known);
    assert_eq!(counts.len(), MAX_REMEMBERED_PEERS);
}

#[test]
fn a_resource_storage_holds_whole_is_handed_out_once() {
    let content = content();
    let mut swarm = ResourceSwarm::new(content.id, LOCAL, ResourceConfig::default());
    let have = Bitfield::full(content.pieces());
    swarm.handle(Duration::ZERO, download_input(have, S));
    let assembles = outputs(&mut swarm)
        .into_iter()
        .filter(|o| *o == Output::Assemble)
        .count();
    assert_eq!(assembles, 1);
}

#[test]
fn a_piece_the_page_shares_during_a_download_is_no_longer_asked_for() {
    let content = content();
    let (mut swarm, requests) = asking_a_provider_of_everything(&content);
    let (id, _) = *requests
        .iter()
        .find(|(_, piece)| *piece == 0)
        .expect("piece 0 asked for");
    let mut piece_0 = Bitfield::empty(content.pieces());
    piece_0.insert(0);
    swarm.handle(2 * MS, Input::Hold(piece_0));
    let out = outputs(&mut swarm);
    assert!(out.contains(&Output::Send(1, SwarmMessage::Cancel { id })));
    // Its late answer is not verified or written again.
    let encoded = content.encoded(0);
    swarm.handle(
        3 * MS,
        Input::Message(
            1,
            SwarmMessage::Piece {
                id,
                piece: 0,
                encoded,
            },
        ),
    );
    assert!(!outputs(&mut swarm)
        .iter()
        .any(|o| matches!(o, Output::Write(0, _))));
}

#[test]
fn a_peer_repeating_what_it_holds_is_banned() {
    let content = content();
    let mut swarm = downloading(&content, 15 * S);
    link_up(&mut swarm, MS, 1, 2, true);
    outputs(&mut swarm);
    // An honest peer may announce a piece again after losing it: a few repeats are fine.
    for _ in 0..10 {
        swarm.handle(MS, Input::Message(1, SwarmMessage::HavePiece(0)));
    }
    assert!(!closed(&outputs(&mut swarm), 1));
    for _ in 0..100 {
        swarm.handle(MS, Input::Message(1, SwarmMessage::HavePiece(0)));
    }
    assert!(closed(&outputs(&mut swarm), 1), "a flood closes the link");
    assert_eq!(swarm.banned().copied().collect::<Vec<_>>(), vec![2]);
}

#[test]
fn the_first_peer_offering_a_missing_piece_is_reported_once_per_download() {
    let content = content();
    let offered =
        |outputs: &[Output<u32>]| outputs.iter().filter(|o| **o == Output::Offered).count();
    let mut swarm = downloading(&content, S);
    outputs(&mut swarm);
    swarm.handle(MS, Input::Providers(Ok(vec![2, 3])));
    link_up(&mut swarm, MS, 1, 2, true);
    link_up(&mut swarm, MS, 2, 3, true);
    let empty = Bytes::copy_from_slice(Bitfield::empty(content.pieces()).as_bytes());
    swarm.handle(2 * MS, Input::Message(1, SwarmMessage::Have(empty)));
    assert_eq!(
        offered(&outputs(&mut swarm)),
        0,
        "holding nothing offers nothing"
    );
    swarm.handle(3 * MS, Input::Message(1, SwarmMessage::HavePiece(0)));
    assert_eq!(offered(&outputs(&mut swarm)), 1);
    swarm.handle(4 * MS, Input::Message(2, SwarmMessage::HavePiece(1)));
    assert_eq!(offered(&outputs(&mut swarm)), 0, "once per download");
    // A new download, with a peer linked before it started that holds what it lacks.
    swarm.handle(5 * MS, Input::Cancel);
    outputs(&mut swarm);
    swarm.handle(6 * MS, download_input(Bitfield::empty(content.pieces()), S));
    assert_eq!(offered(&outputs(&mut swarm)), 1);
}

#[test]
fn an_answer_to_a_request_of_a_cancelled_download_does_not_get_an_honest_peer_dropped() {
    let content = content();
    let (mut swarm, asked) = asking_a_provider_of_everything(&content);
    let (old_id, old_piece) = asked[0];
    swarm.handle(2 * MS, Input::Cancel);
    outputs(&mut swarm);
    swarm.handle(3 * MS, download_input(Bitfield::empty(content.pieces()), S));
    let requests: Vec<(u32, u32)> = outputs(&mut swarm)
        .into_iter()
        .filter_map(|o| match o {
            Output::Send(1, SwarmMessage::Request { id, piece }) => Some((id, piece)),
            _ => None,
        })
        .collect();
    assert!(!requests.is_empty(), "the new download asks again");
    assert!(
        requests
            .iter()
            .all(|(id, _)| asked.iter().all(|(old, _)| old != id)),
        "ids go on across downloads: {asked:?} then {requests:?}"
    );
    // The peer answers the old request after all.
    let encoded = content.encoded(old_piece);
    let piece = SwarmMessage::Piece {
        id: old_id,
        piece: old_piece,
        encoded,
    };
    swarm.handle(4 * MS, Input::Message(1, piece));
    let after = outputs(&mut swarm);
    assert!(
        !after
            .iter()
            .any(|o| matches!(o, Output::Dropped(..) | Output::Close(_))),
        "{after:?}"
    );
}
