//! [`ProviderRecords`]: which resources a tab announces at its server and the provider lookups
//! it has in flight, sans-IO. A tab that holds pieces of a resource registers under the
//! resource's rendezvous namespace ([`content_namespace`]); a tab that wants it discovers who
//! registered there. `W` is whoever waits for a lookup's answer.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::content::content_id::ContentId;
use crate::wire::protocols::content_namespace;

use super::membership::MAX_SWARM_NAME;

/// Seconds a provider registration lasts on the server; renewed at half that.
pub const PROVIDER_TTL: u64 = 120;
/// A lookup not answered within this long is sent again.
const LOOKUP_RETRY: Duration = Duration::from_secs(5);
/// Providers asked for per lookup.
pub const LOOKUP_LIMIT: u64 = 50;
/// Lookups waited on at once; more are refused (each waiter is a page request).
pub const MAX_LOOKUPS: usize = 1024;
/// Waiters on one lookup; more are refused.
pub const MAX_WAITERS_PER_LOOKUP: usize = 64;

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAction {
    /// Register under `namespace` at the server for `ttl` seconds.
    Register {
        /// The resource's namespace.
        namespace: String,
        /// Seconds the registration lasts.
        ttl: u64,
    },
    /// Withdraw the registration under `namespace`.
    Unregister(String),
    /// Ask the server who registered under `namespace`; report with
    /// [`ProviderRecords::answered`].
    Discover {
        /// The resource's namespace.
        namespace: String,
        /// Providers asked for.
        limit: u64,
    },
}

/// Why a lookup cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The swarm's name leaves no room for a resource's namespace.
    #[error("swarm name too long for content: {0} bytes with the resource's hash")]
    NamespaceTooLong(usize),
    /// Too many lookups or waiters at once.
    #[error("too many provider lookups at once")]
    Busy,
}

struct Lookup<W> {
    waiters: Vec<W>,
    asked: Duration,
}

/// A tab's provider records and lookups, in one swarm.
pub struct ProviderRecords<W> {
    swarm: String,
    /// Announced namespaces and when to renew each.
    provided: HashMap<String, Duration>,
    lookups: HashMap<String, Lookup<W>>,
    actions: VecDeque<ProviderAction>,
}

impl<W> ProviderRecords<W> {
    /// Nothing announced or asked yet, in `swarm`.
    pub fn new(swarm: &str) -> Self {
        Self {
            swarm: swarm.to_owned(),
            provided: HashMap::new(),
            lookups: HashMap::new(),
            actions: VecDeque::new(),
        }
    }

    /// The namespace of `id` in this swarm.
    pub fn namespace(&self, id: &ContentId) -> Result<String, LookupError> {
        let namespace = content_namespace(&self.swarm, id);
        if namespace.len() > MAX_SWARM_NAME {
            return Err(LookupError::NamespaceTooLong(namespace.len()));
        }
        Ok(namespace)
    }

    /// Starts announcing `id` (registered at once, renewed at half the TTL).
    pub fn provide(&mut self, id: &ContentId, now: Duration) -> Result<(), LookupError> {
        let namespace = self.namespace(id)?;
        self.provided.insert(namespace, Duration::ZERO);
        self.renew_due(now);
        Ok(())
    }

    /// Stops announcing `id`.
    pub fn unprovide(&mut self, id: &ContentId) {
        let Ok(namespace) = self.namespace(id) else {
            return;
        };
        if self.provided.remove(&namespace).is_some() {
            self.actions
                .push_back(ProviderAction::Unregister(namespace));
        }
    }

    /// Asks who provides `id`; `waiter` gets the answer from [`ProviderRecords::answered`]. A
    /// question already asked is not asked again unless it went unanswered for long. A lookup
    /// that cannot be made gives the waiter back with the reason.
    pub fn find(
        &mut self,
        id: &ContentId,
        waiter: W,
        now: Duration,
    ) -> Result<(), (LookupError, W)> {
        let namespace = match self.namespace(id) {
            Ok(namespace) => namespace,
            Err(e) => return Err((e, waiter)),
        };
        if !self.lookups.contains_key(&namespace) && self.lookups.len() >= MAX_LOOKUPS {
            return Err((LookupError::Busy, waiter));
        }
        let lookup = self.lookups.entry(namespace.clone()).or_insert(Lookup {
            waiters: Vec::new(),
            asked: now,
        });
        if lookup.waiters.len() >= MAX_WAITERS_PER_LOOKUP {
            return Err((LookupError::Busy, waiter));
        }
        lookup.waiters.push(waiter);
        if lookup.waiters.len() == 1 || now.saturating_sub(lookup.asked) > LOOKUP_RETRY {
            lookup.asked = now;
            self.actions.push_back(ProviderAction::Discover {
                namespace,
                limit: LOOKUP_LIMIT,
            });
        }
        Ok(())
    }

    /// The server answered (or refused) the lookup of `namespace`: who waited for it.
    pub fn answered(&mut self, namespace: &str) -> Vec<W> {
        self.lookups
            .remove(namespace)
            .map(|l| l.waiters)
            .unwrap_or_default()
    }

    /// Registers every announced resource at the next chance (after moving to another server).
    pub fn renew_now(&mut self) {
        for next in self.provided.values_mut() {
            *next = Duration::ZERO;
        }
    }

    /// Queues the registrations that are due at `now`.
    pub fn renew_due(&mut self, now: Duration) {
        for (namespace, next) in &mut self.provided {
            if *next > now {
                continue;
            }
            *next = now + Duration::from_secs(PROVIDER_TTL / 2);
            self.actions.push_back(ProviderAction::Register {
                namespace: namespace.clone(),
                ttl: PROVIDER_TTL,
            });
        }
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<ProviderAction> {
        self.actions.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::{LookupError, ProviderAction, ProviderRecords, MAX_WAITERS_PER_LOOKUP};
    use crate::content::content_hasher::ContentHasher;
    use crate::content::content_id::ContentId;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    fn id() -> ContentId {
        let mut hasher = ContentHasher::new(3).unwrap();
        hasher.update(b"abc").unwrap();
        hasher.finish().unwrap().0
    }

    fn actions(records: &mut ProviderRecords<u32>) -> Vec<ProviderAction> {
        std::iter::from_fn(|| records.poll_action()).collect()
    }

    #[test]
    fn a_resource_is_registered_under_swarm_c_hash_and_renewed_at_half_the_ttl() {
        let mut records = ProviderRecords::<u32>::new("site");
        records.provide(&id(), Duration::ZERO).unwrap();
        let namespace = format!("site/c/{}", id().hash().to_hex());
        assert_eq!(
            actions(&mut records),
            [ProviderAction::Register {
                namespace: namespace.clone(),
                ttl: 120
            }]
        );
        records.renew_due(59 * S);
        assert!(actions(&mut records).is_empty());
        records.renew_due(60 * S);
        assert_eq!(actions(&mut records).len(), 1);
        records.unprovide(&id());
        assert_eq!(
            actions(&mut records),
            [ProviderAction::Unregister(namespace)]
        );
        records.renew_due(600 * S);
        assert!(actions(&mut records).is_empty());
    }

    #[test]
    fn one_question_for_many_waiters_asked_again_when_unanswered_for_long() {
        let mut records = ProviderRecords::new("site");
        records.find(&id(), 1, Duration::ZERO).unwrap();
        records.find(&id(), 2, S).unwrap();
        assert_eq!(actions(&mut records).len(), 1);
        records.find(&id(), 3, 6 * S).unwrap();
        assert_eq!(actions(&mut records).len(), 1, "asked again after 5 s");
        let namespace = records.namespace(&id()).unwrap();
        assert_eq!(records.answered(&namespace), [1, 2, 3]);
        assert!(records.answered(&namespace).is_empty());
    }

    #[test]
    fn lookups_are_bounded() {
        let mut records = ProviderRecords::new("site");
        for waiter in 0..MAX_WAITERS_PER_LOOKUP as u32 {
            records.find(&id(), waiter, S).unwrap();
        }
        assert_eq!(records.find(&id(), 999, S), Err((LookupError::Busy, 999)));
    }

    #[test]
    fn a_swarm_name_too_long_for_content_is_an_error() {
        let mut records = ProviderRecords::<u32>::new(&"x".repeat(200));
        assert!(matches!(
            records.provide(&id(), S),
            Err(LookupError::NamespaceTooLong(_))
        ));
    }
}
