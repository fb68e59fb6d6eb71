#!/usr/bin/env bash
# Runs a command inside a private network namespace made for it: loopback plus a veth pair
# 10.213.0.1 <-> 10.213.0.2, so WebRTC in headless Chromium has a non-loopback interface and no
# test traffic touches the machine's real addresses; and, beside it, the simulated internet of
# tests/simulated-internet.sh (a public network and homes behind NAT routers), in a mount
# namespace of its own so its named namespaces go away with the command. IPv6 is off on the pair: link-local addresses
# appearing a second or two after the links come up make Chromium fail requests in flight with
# net::ERR_NETWORK_CHANGED, a failure at a random moment of whichever test runs then.
set -euo pipefail
if [ "${PEERFETCH_IN_NETNS:-}" = 1 ]; then exec "$@"; fi
export PEERFETCH_IN_NETNS=1
exec unshare -n -m bash -c '
  set -e
  # The veth pair made below inherits this; loopback keeps ::1 (ChromeDriver binds it).
  if [ -e /proc/sys/net/ipv6/conf/default/disable_ipv6 ]; then
    echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
  fi
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.213.0.1/24 dev v0
  ip addr add 10.213.0.2/24 dev v1
  ip link set v0 up
  ip link set v1 up
  ip route add default via 10.213.0.2 dev v0
  mkdir -p /run/netns
  mount -t tmpfs netns /run/netns
  "$0"
  exec "$@"
' "$(dirname "$0")/simulated-internet.sh" "$@"
