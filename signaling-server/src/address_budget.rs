//! [`AddressBudget`]: what the clients of each address hold, bounded per address and per wider
//! IPv6 prefix.
//!
//! Per-address bounds count an IPv4 address or an IPv6 /64 ([`AddressKey`]), since a host given
//! IPv6 gets a whole /64. But a home is commonly given a /56 (256 /64s) and a site a /48
//! (65 536): counted per /64 alone, one such allocation holds that many budgets, enough to fill
//! any table on the server. So the /56 around a /64 may hold [`PER_56`] times the per-address
//! bound and the /48 [`PER_48`] times: a /48 holds 16 budgets, not 65 536. The homes of one ISP
//! given /56s of the same /48 share those 16 budgets, which only matters once together they
//! reach them.

use crate::ip_key::AddressKey;
use std::collections::HashMap;

/// How many per-address budgets the /56 around an address holds.
pub const PER_56: usize = 4;
/// How many per-address budgets the /48 around an address holds.
pub const PER_48: usize = 16;

/// What a bound counts: an address (IPv4, or IPv6 /64), or a wider IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// An IPv4 address or an IPv6 /64.
    Address(AddressKey),
    /// An IPv6 prefix: its bits, and its length.
    Prefix(u128, u32),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Address(address) => write!(f, "{address}"),
            Scope::Prefix(bits, len) => write!(f, "{}/{len}", std::net::Ipv6Addr::from_bits(*bits)),
        }
    }
}

/// One more would pass the bound of `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{scope} already holds {limit}")]
pub struct BudgetFull {
    /// The address or prefix whose bound was reached.
    pub scope: Scope,
    /// Its bound.
    pub limit: usize,
}

/// Counts held per address and per /56 and /48, each bounded.
#[derive(Debug)]
pub struct AddressBudget {
    per_address: usize,
    /// What each address holds (never 0: an address that gives everything back leaves).
    addresses: HashMap<AddressKey, usize>,
    /// What each /56 and /48 holds, keyed by `Scope::Prefix` (never 0 either).
    prefixes: HashMap<Scope, usize>,
}

impl AddressBudget {
    /// At most `per_address` per address, [`PER_56`] times that per /56, [`PER_48`] times
    /// per /48.
    pub fn new(per_address: usize) -> Self {
        Self {
            per_address,
            addresses: HashMap::new(),
            prefixes: HashMap::new(),
        }
    }

    /// The IPv6 prefixes around `address` (none for IPv4), with their bounds.
    fn prefixes_of(&self, address: AddressKey) -> impl Iterator<Item = (Scope, usize)> {
        let per_address = self.per_address;
        [(56, PER_56), (48, PER_48)]
            .into_iter()
            .filter_map(move |(len, times)| {
                let bits = address.ipv6_prefix(len)?;
                Some((Scope::Prefix(bits, len), per_address.saturating_mul(times)))
            })
    }

    /// Counts one more for `address`, unless that passes a bound of it or of a prefix around it.
    pub fn try_take(&mut self, address: AddressKey) -> Result<(), BudgetFull> {
        if self.of(address) >= self.per_address {
            return Err(BudgetFull {
                scope: Scope::Address(address),
                limit: self.per_address,
            });
        }
        let prefixes: Vec<(Scope, usize)> = self.prefixes_of(address).collect();
        for &(scope, limit) in &prefixes {
            if self.prefixes.get(&scope).copied().unwrap_or(0) >= limit {
                return Err(BudgetFull { scope, limit });
            }
        }
        *self.addresses.entry(address).or_default() += 1;
        for (scope, _) in prefixes {
            *self.prefixes.entry(scope).or_default() += 1;
        }
        Ok(())
    }

    /// Gives back one that `address` held.
    pub fn release(&mut self, address: AddressKey) {
        if !give_back(&mut self.addresses, &address) {
            return;
        }
        let prefixes: Vec<Scope> = self.prefixes_of(address).map(|(scope, _)| scope).collect();
        for scope in prefixes {
            give_back(&mut self.prefixes, &scope);
        }
    }

    /// What `address` itself holds.
    pub fn of(&self, address: AddressKey) -> usize {
        self.addresses.get(&address).copied().unwrap_or(0)
    }

    /// Addresses holding anything.
    pub fn addresses(&self) -> usize {
        self.addresses.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.prefixes.is_empty()
    }
}

/// Takes one from `key`'s count, removing it at 0; says whether it held any.
fn give_back<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) -> bool {
    let Some(count) = counts.get_mut(key) else {
        return false;
    };
    *count -= 1;
    if *count == 0 {
        counts.remove(key);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(ip: &str) -> AddressKey {
        ip.parse::<IpAddr>().expect("an address").into()
    }

    #[test]
    fn a_48_holds_sixteen_budgets_not_one_per_64() {
        let mut budget = AddressBudget::new(2);
        // Every /64 of one /48 takes what it may, until the /48 is full: 16 budgets of 2.
        let mut taken = 0;
        for subnet in 0..65_536u32 {
            let address = key(&format!("2001:db8:7:{subnet:x}::1"));
            while budget.try_take(address).is_ok() {
                taken += 1;
            }
            if taken == 2 * PER_48 {
                break;
            }
        }
        assert_eq!(taken, 2 * PER_48);
        let full = budget.try_take(key("2001:db8:7:ffff::1")).unwrap_err();
        assert_eq!(full.scope.to_string(), "2001:db8:7::/48");
        // Another /48 is not touched.
        assert!(budget.try_take(key("2001:db8:8::1")).is_ok());
    }

    #[test]
    fn a_56_holds_four_budgets_and_a_64_one() {
        let mut budget = AddressBudget::new(3);
        let home = key("2001:db8:1:200::1");
        for _ in 0..3 {
            budget.try_take(home).expect("within the /64's bound");
        }
        let full = budget.try_take(home).unwrap_err();
        assert_eq!((full.scope, full.limit), (Scope::Address(home), 3));
        for subnet in 1..=3 {
            let address = key(&format!("2001:db8:1:2{subnet:02x}::1"));
            for _ in 0..3 {
                budget.try_take(address).expect("within the /56's bound");
            }
        }
        let full = budget.try_take(key("2001:db8:1:2ff::1")).unwrap_err();
        assert_eq!(full.scope.to_string(), "2001:db8:1:200::/56");
        assert_eq!(full.limit, 12);
        assert_eq!(budget.addresses(), 4);
    }

    #[test]
    fn releasing_frees_every_scope_and_ipv4_counts_per_address() {
        let mut budget = AddressBudget::new(1);
        let a = key("2001:db8:1:2::1");
        budget.try_take(a).unwrap();
        budget.release(a);
        budget.release(a); // more releases than takes change nothing
        assert!(budget.is_empty());
        assert_eq!(budget.addresses(), 0);
        for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            budget
                .try_take(key(ip))
                .expect("IPv4 addresses have no wider scope");
        }
        assert!(budget.try_take(key("10.0.0.1")).is_err());
    }
}
