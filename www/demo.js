// Demo page glue: join, then show what the peer reports, live.
import init, { Peer } from "/pkg/peerfetch.js";

const $ = (id) => document.getElementById(id);

function render(peer) {
  const stats = peer.stats();
  $("transport").textContent = stats.serverTransport ?? "not connected";
  $("reservation").textContent = stats.relayReservation ? "accepted" : "none";
  $("rtt").textContent = stats.rttMs === null
    ? "waiting for the first ping"
    : `${stats.rttMs.toFixed(1)} ms (p50 ${stats.rttP50Ms.toFixed(1)} ms, p99 ${stats.rttP99Ms.toFixed(1)} ms, ${stats.pings} pings)`;
  $("connections").replaceChildren(...peer.connections().map((c) => {
    const row = document.createElement("tr");
    for (const text of [c.peer, c.transport, c.direction]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

async function main() {
  await init();
  const swarm = new URLSearchParams(location.search).get("swarm") ?? "demo";
  try {
    const peer = await Peer.join({ swarm });
    window.peer = peer;
    $("status").textContent = `Joined swarm “${swarm}”.`;
    $("peer-id").textContent = peer.id;
    for (const name of ["connection", "disconnection", "ping", "reservation", "close"]) {
      peer.events.addEventListener(name, () => render(peer));
    }
    render(peer);
  } catch (error) {
    $("status").textContent = `Could not join: ${error.message}`;
    $("status").className = "error";
  }
}

main();
