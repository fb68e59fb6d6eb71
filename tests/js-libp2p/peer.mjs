// A js-libp2p browser peer for the interop test, bundled by the test with esbuild and served to
// the page. It joins our server like a tab does (WebSocket, relay reservation, /webrtc listener)
// and speaks our echo protocol.
import { createLibp2p } from "libp2p";
import { webSockets } from "@libp2p/websockets";
import { webRTC } from "@libp2p/webrtc";
import { circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";

const ECHO = "/peerfetch/echo/1.0.0";
const WINDOW = 2 * 1024 * 1024;
const CHUNK = 64 * 1024;

const bytesOf = (chunk) => (chunk instanceof Uint8Array ? chunk : chunk.subarray());

/**
 * Starts a node connected to the server behind `origin`; resolves once it is reachable through
 * the relay (and over /webrtc unless `webrtc` is false). With `silentSignaling` it accepts
 * signaling streams and never answers (for the timeout test). With `listen: false` it only
 * dials out: no relay reservation, nothing to wait for (a cheap fresh identity). With
 * `monitor: false` it never closes a connection whose pings fail (js-libp2p's connection
 * monitor is off): a peer it floods may be slow to answer.
 */
export async function startJsPeer(origin, { webrtc = true, silentSignaling = false, listen = true, monitor = true } = {}) {
  const bootstrap = await (await fetch(`${origin}/bootstrap`)).json();
  const listenOn = webrtc ? ["/p2p-circuit", "/webrtc"] : ["/p2p-circuit"];
  const node = await createLibp2p({
    addresses: { listen: listen ? listenOn : [] },
    transports: [
      webSockets(),
      ...(webrtc ? [webRTC({ rtcConfiguration: { iceServers: [] } })] : []),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    connectionMonitor: { enabled: monitor },
    services: { identify: identify(), ping: ping() },
  });
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) {
      if (!stream.send(bytesOf(chunk))) await stream.onDrain();
    }
    await stream.close();
  });
  if (silentSignaling) {
    await node.handle("/webrtc-signaling/0.0.1", () => {}, { runOnLimitedConnection: true });
  }
  const ws = bootstrap.addrs.find((a) => a.includes("/ws/"));
  await node.dial(multiaddr(ws));
  const wanted = webrtc ? "/p2p-circuit/webrtc" : "/p2p-circuit";
  const deadline = Date.now() + 15000;
  while (listen && !node.getMultiaddrs().some((ma) => ma.toString().includes(wanted))) {
    if (Date.now() > deadline) throw new Error(`js-libp2p got no ${wanted} address through the relay`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    node,
    id: node.peerId.toString(),
    serverWs: ws,
    /** Dials a Rust tab over browser-to-browser WebRTC through the server. */
    async dialWebRtc(peer) {
      return (await this.webRtcConnection(peer)).remoteAddr.toString();
    },
    /** The direct /webrtc connection to a Rust tab (dialed through the server). */
    async webRtcConnection(peer) {
      return node.dial(multiaddr(`${ws}/p2p-circuit/webrtc/p2p/${peer}`));
    },
    transportsTo(peer) {
      return node.getConnections(peerIdFromString(peer)).map((c) => c.remoteAddr.toString());
    },
    /** Closes every connection to `peer`. */
    async hangUp(peer) {
      await node.hangUp(peerIdFromString(peer));
    },
    async ping(peer) {
      return node.services.ping.ping(peerIdFromString(peer));
    },
    /** Sends `data` on an echo stream to `peer` and returns what came back. */
    async echo(peer, data) {
      const stream = await node.dialProtocol(peerIdFromString(peer), ECHO);
      const received = [];
      let receivedBytes = 0;
      const reading = (async () => {
        for await (const chunk of stream) {
          const bytes = bytesOf(chunk).slice();
          received.push(bytes);
          receivedBytes += bytes.length;
        }
      })();
      for (let sent = 0; sent < data.length; sent += CHUNK) {
        while (sent - receivedBytes > WINDOW) await new Promise((r) => setTimeout(r, 1));
        if (!stream.send(data.subarray(sent, sent + CHUNK))) await stream.onDrain();
      }
      await stream.close();
      await reading;
      const out = new Uint8Array(receivedBytes);
      let at = 0;
      for (const bytes of received) { out.set(bytes, at); at += bytes.length; }
      if (receivedBytes !== data.length) {
        const differs = out.findIndex((b, i) => b !== data[i]);
        throw new Error(`echo came back short: ${receivedBytes} of ${data.length} bytes (first difference at ${differs}), ` +
          `stream ${stream.status} (read ${stream.readStatus}, remote write ${stream.remoteWriteStatus}) on ` +
          `${node.getConnections(peerIdFromString(peer)).map((c) => `${c.remoteAddr} ${c.status}`).join(", ")}`);
      }
      return out;
    },
  };
}
