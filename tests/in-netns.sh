#!/usr/bin/env bash
# Runs a command inside a private network namespace made for it: loopback plus a veth pair
# 10.213.0.1 <-> 10.213.0.2, so WebRTC in headless Chromium has a non-loopback interface and no
# test traffic touches the machine's real addresses.
set -euo pipefail
if [ "${PEERFETCH_IN_NETNS:-}" = 1 ]; then exec "$@"; fi
export PEERFETCH_IN_NETNS=1
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.213.0.1/24 dev v0
  ip addr add 10.213.0.2/24 dev v1
  ip link set v0 up
  ip link set v1 up
  ip route add default via 10.213.0.2 dev v0
  exec "$@"
' netns "$@"
