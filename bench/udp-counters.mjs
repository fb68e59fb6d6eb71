// The kernel's UDP counters of this network namespace (/proc/net/snmp): WebRTC's packets are UDP
// datagrams, and a datagram the kernel drops because the receiving socket's buffer is full
// (`RcvbufErrors`) is a loss SCTP must recover from, though no link in the namespace loses any.

import { readFileSync } from "node:fs";

/** The `Udp:` counters of /proc/net/snmp, by name (`InDatagrams`, `RcvbufErrors`, …). */
export function udpCounters() {
  const [names, values] = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((line) => line.startsWith("Udp: "))
    .map((line) => line.split(/\s+/).slice(1));
  return Object.fromEntries(names.map((name, i) => [name, Number(values[i])]));
}

/** The counters that grew from `before` to now, by how much. */
export function udpCountersSince(before) {
  const now = udpCounters();
  return Object.fromEntries(Object.entries(now)
    .map(([name, value]) => [name, value - (before[name] ?? 0)])
    .filter(([, grew]) => grew !== 0));
}
