// The `/peerfetch/swarm/1` wire format, written again from its definition in
// crate/src/swarm/message.rs so that a hostile peer can speak it (and bend it): each message is a
// protobuf `Wire { kind = 1, id = 2, piece = 3, data = 4 (bytes), len = 5, reason = 6 }`
// prefixed with its varint length.

export const SWARM_PROTOCOL = "/peerfetch/swarm/1";
export const KIND = { want: 1, have: 2, havePiece: 3, request: 4, piece: 5, cancel: 6, reject: 7 };
export const KIND_NAME = Object.fromEntries(Object.entries(KIND).map(([name, kind]) => [kind, name]));
export const PIECE_LEN = 1024 * 1024;
/** The longest message the victim accepts: one encoded piece (1 MiB + 127 × 64 bytes of proof) + 64. */
export const MAX_MESSAGE_LEN = PIECE_LEN + 127 * 64 + 64;

/** Appends the varint of `n` (up to 2^53) to `out`. */
function pushVarint(out, n) {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/** The varint of `n`, alone (a length prefix). */
export function varint(n) {
  const out = [];
  pushVarint(out, n);
  return Uint8Array.from(out);
}

/** One framed message: `{ kind, id, piece, data, len, reason }`, fields left out when undefined. */
export function encode({ kind, id, piece, data, len, reason }) {
  const head = [];
  const field = (number, value) => {
    if (value === undefined) return;
    pushVarint(head, number << 3); // wire type 0: varint
    pushVarint(head, value);
  };
  field(1, kind);
  field(2, id);
  field(3, piece);
  if (data !== undefined && data.length > 0) {
    pushVarint(head, (4 << 3) | 2); // wire type 2: length-delimited
    pushVarint(head, data.length);
  }
  const tail = [];
  if (len !== undefined) { pushVarint(tail, 5 << 3); pushVarint(tail, len); }
  if (reason !== undefined) { pushVarint(tail, 6 << 3); pushVarint(tail, reason); }
  const bodyLength = head.length + (data?.length ?? 0) + tail.length;
  const prefix = varint(bodyLength);
  const frame = new Uint8Array(prefix.length + bodyLength);
  frame.set(prefix, 0);
  frame.set(head, prefix.length);
  if (data !== undefined) frame.set(data, prefix.length + head.length);
  frame.set(tail, prefix.length + head.length + (data?.length ?? 0));
  return frame;
}

/** `<64 hex digits>-<length>` as the hash bytes and the length. */
export function parseCid(cid) {
  const [hex, len] = cid.split("-");
  const hash = Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
  return { hash, len: Number(len) };
}

export const pieceCount = (len) => Math.ceil(len / PIECE_LEN);

/** A bitfield of `pieces` pieces, all held (first piece in the high bit, spare bits zero). */
export function fullBitfield(pieces) {
  const bits = new Uint8Array(Math.ceil(pieces / 8)).fill(0xff);
  const spare = bits.length * 8 - pieces;
  if (spare > 0) bits[bits.length - 1] = (0xff << spare) & 0xff;
  return bits;
}

export const want = (cid) => {
  const { hash, len } = parseCid(cid);
  return encode({ kind: KIND.want, data: hash, len });
};
export const have = (bits) => encode({ kind: KIND.have, data: bits });
export const havePiece = (piece) => encode({ kind: KIND.havePiece, piece });
export const request = (id, piece) => encode({ kind: KIND.request, id, piece });
export const piece = (id, index, encoded) => encode({ kind: KIND.piece, id, piece: index, data: encoded });

/**
 * Reassembles messages from the bytes of a stream. `push(bytes)` returns the whole messages
 * now complete, each `{ kind, id, piece, data, len, reason }`.
 */
export class Decoder {
  #buffer = new Uint8Array(0);

  push(bytes) {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer, 0);
    joined.set(bytes, this.#buffer.length);
    const messages = [];
    let at = 0;
    for (;;) {
      const prefix = readVarint(joined, at);
      if (prefix === null || prefix.next + prefix.value > joined.length) break;
      messages.push(decodeBody(joined.subarray(prefix.next, prefix.next + prefix.value)));
      at = prefix.next + prefix.value;
    }
    this.#buffer = joined.slice(at);
    return messages;
  }
}

function readVarint(bytes, at) {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length; i++) {
    value += (bytes[i] & 0x7f) * scale;
    scale *= 0x80;
    if (bytes[i] < 0x80) return { value, next: i + 1 };
  }
  return null;
}

function decodeBody(body) {
  const names = { 1: "kind", 2: "id", 3: "piece", 4: "data", 5: "len", 6: "reason" };
  const message = {};
  let at = 0;
  while (at < body.length) {
    const tag = readVarint(body, at);
    const number = Math.floor(tag.value / 8);
    if (tag.value % 8 === 2) {
      const length = readVarint(body, tag.next);
      message[names[number]] = body.slice(length.next, length.next + length.value);
      at = length.next + length.value;
    } else {
      const value = readVarint(body, tag.next);
      message[names[number]] = value.value;
      at = value.next;
    }
  }
  message.name = KIND_NAME[message.kind];
  return message;
}
