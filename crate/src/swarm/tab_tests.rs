//! The routing rules of [`TabSwarms`]: which streams reach a resource's swarm and which close.

use std::time::Duration;

use super::{LinkInput, TabConfig, TabOutput, TabSwarms};
use crate::content::bitfield::Bitfield;
use crate::content::content_hasher::ContentHasher;
use crate::content::content_id::ContentId;
use crate::swarm::message::SwarmMessage;
use crate::swarm::resource::{Input, Output};

const MS: Duration = Duration::from_millis(1);

fn id(seed: u8) -> ContentId {
    let mut hasher = ContentHasher::new(1000).unwrap();
    hasher.update(&[seed; 1000]).unwrap();
    hasher.finish().unwrap().0
}

fn holding(ids: &[ContentId]) -> TabSwarms<u32> {
    let mut tab = TabSwarms::new(0, TabConfig::default());
    for id in ids {
        tab.handle(Duration::ZERO, *id, Input::Hold(Bitfield::full(1)));
    }
    outputs(&mut tab);
    tab
}

fn outputs(tab: &mut TabSwarms<u32>) -> Vec<TabOutput<u32>> {
    std::iter::from_fn(|| tab.poll_output()).collect()
}

fn message(tab: &mut TabSwarms<u32>, link: u64, message: SwarmMessage) {
    tab.link_input(MS, link, LinkInput::Message(message));
}

#[test]
fn an_inbound_stream_joins_the_resource_its_want_names_and_gets_our_bitfield() {
    let a = id(1);
    let mut tab = holding(&[a]);
    tab.link_opened(MS, 7, 3, None);
    assert!(outputs(&mut tab).is_empty(), "nothing before the Want");
    message(&mut tab, 7, SwarmMessage::Want(a));
    let out = outputs(&mut tab);
    assert!(
        matches!(&out[..], [TabOutput::Resource(id, Output::Send(7, SwarmMessage::Have(_)))] if *id == a),
        "{out:?}"
    );
    assert!(tab
        .resource(&a)
        .unwrap()
        .peers()
        .iter()
        .any(|p| p.peer == 3));
}

#[test]
fn an_outbound_stream_says_want_first() {
    let a = id(1);
    let mut tab = holding(&[a]);
    tab.link_opened(MS, 8, 3, Some(a));
    let out = outputs(&mut tab);
    assert_eq!(
        out[0],
        TabOutput::Resource(a, Output::Send(8, SwarmMessage::Want(a)))
    );
    assert!(matches!(
        &out[1],
        TabOutput::Resource(_, Output::Send(8, SwarmMessage::Have(_)))
    ));
}

#[test]
fn streams_that_start_wrong_or_name_what_we_lack_are_closed() {
    let (a, b) = (id(1), id(2));
    let mut tab = holding(&[a]);
    tab.link_opened(MS, 1, 3, None);
    message(&mut tab, 1, SwarmMessage::HavePiece(0));
    tab.link_opened(MS, 2, 3, None);
    message(&mut tab, 2, SwarmMessage::Want(b));
    tab.link_opened(MS, 3, 3, None);
    tab.link_input(MS, 3, LinkInput::Malformed("junk".into()));
    // A stream this tab opened about a resource it dropped meanwhile.
    tab.link_opened(MS, 4, 3, Some(b));
    assert_eq!(outputs(&mut tab), [1, 2, 3, 4].map(TabOutput::Close));
    assert_eq!(tab.link_count(), 0);
}

#[test]
fn unnamed_streams_are_bounded_in_number_and_in_time() {
    let a = id(1);
    let config = TabConfig::default();
    let mut tab = holding(&[a]);
    for link in 0..config.max_unnamed_links as u64 + 5 {
        tab.link_opened(MS, link, 9, None);
    }
    let closed = outputs(&mut tab);
    assert_eq!(closed.len(), 5, "the streams past the cap close at once");
    assert_eq!(tab.link_count(), config.max_unnamed_links);
    tab.tick(config.want_timeout);
    assert!(outputs(&mut tab).is_empty(), "not before the timeout");
    tab.tick(MS + config.want_timeout);
    assert_eq!(outputs(&mut tab).len(), config.max_unnamed_links);
    assert_eq!(tab.link_count(), 0);
}

#[test]
fn a_peer_holding_every_unnamed_slot_shuts_no_other_peer_out() {
    let a = id(1);
    let config = TabConfig::default();
    let cap = config.max_unnamed_links as u64;
    let mut tab = holding(&[a]);
    for link in 0..cap {
        tab.link_opened(MS * (link as u32 + 1), link, 9, None);
    }
    outputs(&mut tab);
    // An honest peer's stream displaces the greedy peer's oldest, then names its resource.
    tab.link_opened(MS * 100, cap, 7, None);
    assert_eq!(outputs(&mut tab), [TabOutput::Close(0)]);
    message(&mut tab, cap, SwarmMessage::Want(a));
    assert!(!outputs(&mut tab).contains(&TabOutput::Close(cap)));
    assert_eq!(tab.link_count(), config.max_unnamed_links);
    // The greedy peer takes the freed slot back, and no more.
    tab.link_opened(MS * 101, cap + 1, 9, None);
    tab.link_opened(MS * 101, cap + 2, 9, None);
    assert_eq!(outputs(&mut tab), [TabOutput::Close(cap + 2)]);
    // Two honest peers' streams while the greedy peer holds every slot: each displaces one.
    tab.link_opened(MS * 102, cap + 3, 7, None);
    tab.link_opened(MS * 103, cap + 4, 8, None);
    assert_eq!(
        outputs(&mut tab),
        [TabOutput::Close(1), TabOutput::Close(2)]
    );
}

#[test]
fn removing_a_resource_closes_its_streams_only() {
    let (a, b) = (id(1), id(2));
    let mut tab = holding(&[a, b]);
    tab.link_opened(MS, 1, 3, Some(a));
    tab.link_opened(MS, 2, 3, Some(b));
    outputs(&mut tab);
    tab.remove(&a);
    assert_eq!(outputs(&mut tab), [TabOutput::Close(1)]);
    assert!(tab.resource(&a).is_none());
    assert_eq!(tab.link_count(), 1);
    // Late news about the removed resource is ignored.
    tab.handle(MS, a, Input::Providers(Ok(vec![4])));
    assert!(outputs(&mut tab).is_empty());
}

/// Starts downloading `id` (one piece, none held) at `now`.
fn download(tab: &mut TabSwarms<u32>, now: Duration, id: ContentId) {
    let download = Input::Download {
        have: Bitfield::empty(1),
        not_found_after: Duration::from_secs(600),
        seed: 0,
    };
    tab.handle(now, id, download);
}

/// The peers `tab` dials among its outputs.
fn dials(tab: &mut TabSwarms<u32>) -> Vec<u32> {
    outputs(tab)
        .into_iter()
        .filter_map(|o| match o {
            TabOutput::Resource(_, Output::Dial(peer)) => Some(peer),
            _ => None,
        })
        .collect()
}

#[test]
fn a_peer_not_reached_for_one_resource_rests_for_every_resource() {
    let (a, b, c) = (id(1), id(2), id(3));
    let mut tab = holding(&[]);
    download(&mut tab, MS, a);
    tab.handle(MS, a, Input::Providers(Ok(vec![9])));
    assert_eq!(dials(&mut tab), [9]);
    tab.handle(2 * MS, a, Input::DialFailed(9));
    // A departed tab's record lists it for the next resource too: it is not dialed again.
    download(&mut tab, 3 * MS, b);
    tab.handle(3 * MS, b, Input::Providers(Ok(vec![9, 8])));
    assert_eq!(dials(&mut tab), [8]);
    // Its rest over, it is tried again, and a second failure rests it twice as long.
    let rest = TabConfig::default().unreachable_rest.0;
    download(&mut tab, rest + 3 * MS, c);
    tab.handle(rest + 3 * MS, c, Input::Providers(Ok(vec![9])));
    assert_eq!(dials(&mut tab), [9]);
    tab.handle(rest + 4 * MS, c, Input::DialFailed(9));
    tab.handle(3 * rest, c, Input::Providers(Ok(vec![9])));
    assert!(dials(&mut tab).is_empty());
    // A stream to it opens (it dialed this tab): it is dialed at once again.
    tab.link_opened(3 * rest, 5, 9, None);
    message(&mut tab, 5, SwarmMessage::Want(c));
    tab.handle(3 * rest, b, Input::Providers(Ok(vec![9])));
    assert_eq!(dials(&mut tab), [9]);
}

#[test]
fn a_peer_that_stalled_a_download_rests_for_every_resource() {
    let (a, b) = (id(1), id(2));
    let mut tab = holding(&[]);
    download(&mut tab, MS, a);
    tab.handle(MS, a, Input::Providers(Ok(vec![2])));
    outputs(&mut tab);
    tab.link_opened(MS, 1, 2, Some(a));
    message(&mut tab, 1, SwarmMessage::HavePiece(0));
    outputs(&mut tab);
    // Peer 2 never sends the piece it was asked for.
    let mut now = MS;
    let mut stalled = false;
    while now < Duration::from_secs(120) && !stalled {
        now += Duration::from_secs(1);
        tab.tick(now);
        stalled = outputs(&mut tab)
            .iter()
            .any(|o| matches!(o, TabOutput::Resource(_, Output::Dropped(2, _))));
    }
    assert!(stalled);
    download(&mut tab, now, b);
    tab.handle(now, b, Input::Providers(Ok(vec![2])));
    assert!(dials(&mut tab).is_empty(), "it rests for b too");
}
