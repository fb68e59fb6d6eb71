#!/usr/bin/env bash
# The simulated internet, made inside the test namespace by tests/in-netns.sh (which gives it a
# mount namespace of its own, so the named namespaces below vanish with it):
#   - a public network 203.0.113.0/24 on the bridge wan0; the test namespace is its host
#     203.0.113.1 (peerfetch servers, coturn);
#   - origin, a second public host 203.0.113.2 (namespace origin, interface wan): a site's own
#     server, away from the peerfetch server (bench/cdn-origin.mjs shapes its link);
#   - homes, each a namespace <home> (10.<n>.0.2, default route via its router) behind a router
#     namespace r-<home> (10.<n>.0.1 inside, 203.0.113.<10+n> outside) that masquerades:
#       cone1, cone2  port-preserving NAT (nftables masquerade)
#       sym1, sym2    symmetric NAT (masquerade random: a new port per destination)
#     Every router drops unsolicited inbound packets: one it accepted would leave a conntrack
#     entry that makes its next outbound mapping change port, and hole punching would fail as
#     behind a symmetric NAT.
# Run a program in a home with `ip netns exec <home> …`. IPv6 is off everywhere.
set -euo pipefail

ip link add wan0 type bridge
ip addr add 203.0.113.1/24 dev wan0
ip link set wan0 up

# namespace NAME: a new namespace with its loopback up and IPv6 off.
namespace() {
  ip netns add "$1"
  if [ -e /proc/sys/net/ipv6/conf/default/disable_ipv6 ]; then
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  fi
  ip -n "$1" link set lo up
}

# on_public_network NAMESPACE HOST: NAMESPACE's interface wan at 203.0.113.HOST, a veth pair
# whose other end (w-NAMESPACE) is a port of the bridge.
on_public_network() {
  ip link add "w-$1" type veth peer name wan netns "$1"
  ip link set "w-$1" master wan0 up
  ip -n "$1" addr add "203.0.113.$2/24" dev wan
  ip -n "$1" link set wan up
}

namespace origin
on_public_network origin 2

n=0
for home in cone1 cone2 sym1 sym2; do
  n=$((n + 1))
  router=r-$home
  namespace "$router"
  namespace "$home"
  on_public_network "$router" $((10 + n))
  ip -n "$router" link add lan type veth peer name eth0 netns "$home"
  ip -n "$router" addr add "10.$n.0.1/24" dev lan
  ip -n "$router" link set lan up
  ip -n "$home" addr add "10.$n.0.2/24" dev eth0
  ip -n "$home" link set eth0 up
  ip -n "$home" route add default via "10.$n.0.1"
  ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
  case $home in sym*) random=random ;; *) random= ;; esac
  ip netns exec "$router" nft -f - <<NFT
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan" masquerade $random
  }
}
table inet filter {
  chain input {
    type filter hook input priority filter;
    iifname "wan" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter;
    iifname "wan" ct state new drop
  }
}
NFT
done
