//! The TypeScript types of the JS API: every option, result and event `Peer` takes or gives,
//! written into the generated `peerfetch.d.ts`. The methods of `Peer` name them with
//! `unchecked_param_type` / `unchecked_return_type`; `tests/types/` type-checks an example
//! against the generated file with `tsc`.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** What a rejected promise of the API carries: match on `code`, show `message`. */
export interface PeerfetchError extends Error {
    code: ErrorCode;
}

/** Stable error codes (see docs/js-api.md, "Errors"). */
export type ErrorCode =
    | "ERR_NOT_FOUND"
    | "ERR_CANCELLED"
    | "ERR_QUOTA_FULL"
    | "ERR_INVALID_OPTIONS"
    | "ERR_INVALID_ARGUMENT"
    | "ERR_UNREACHABLE"
    | "ERR_INSECURE_CONTEXT"
    | "ERR_CONNECT_FAILED"
    | "ERR_NO_STORAGE"
    | "ERR_STORAGE"
    | "ERR_CLOSED"
    | "ERR_KEY_NEEDED"
    | "ERR_WRONG_KEY"
    | "ERR_INTERNAL";

/** One entry of `iceServers`, as in `RTCConfiguration`. */
export interface IceServer {
    urls: string | string[];
    username?: string;
    credential?: string;
}

/** Options of `Peer.join`; every field is optional. */
export interface JoinOptions {
    /** HTTP origin of a peerfetch-server; default `location.origin`. */
    server?: string;
    /** Name of the swarm to join; default `"default"`. */
    swarm?: string;
    /** Interval between pings to each connected peer; default 2000. */
    pingIntervalMs?: number;
    /** Time allowed for each transport's dial to a server; default 5000. */
    dialTimeoutMs?: number;
    /** Time allowed for opening storage, fetching `/bootstrap`, the relay reservation; default 10000 each. */
    stepTimeoutMs?: number;
    /** Most verbose console log level; default `"info"`. */
    logLevel?: "error" | "warn" | "info" | "debug" | "trace";
    /** ICE servers for browser-to-browser links; default those the server offers (its STUN, its TURN); `[]` for none. */
    iceServers?: IceServer[];
    /** `"relay"` uses TURN candidates only; default `"all"`. */
    iceTransportPolicy?: "all" | "relay";
    /** Time allowed for a browser-to-browser connection to come up; default 15000. */
    connectTimeoutMs?: number;
    /** Direct neighbours the mesh keeps; default 8. */
    meshDegree?: number;
    /** Neighbours held at most; default twice `meshDegree`. */
    maxDegree?: number;
    /** Bytes of content the tab keeps; default 4 GiB. */
    storageQuotaBytes?: number;
    /** Cap on the bytes per second the tab uploads; default none. */
    uploadLimitBytesPerSecond?: number;
    /** URL of the site manifest `peer.fetch` verifies against; default `/peerfetch-manifest.json`. */
    manifest?: string;
    /** How long `peer.fetch` waits on silent peers before the origin; default 1500. */
    peerTimeoutMs?: number;
    /** Answer the echo and throughput diagnostics protocols (tests, benchmarks); default false. */
    diagnostics?: boolean;
}

/** What `share`'s `onProgress` gets. */
export interface ShareProgress {
    phase: "hashing" | "storing";
    bytes: number;
    total: number;
}

/** Options of `peer.share`. */
export interface ShareOptions {
    /** File name to record; default the `File`'s name. */
    name?: string;
    /** MIME type to record; default the `Blob`'s type. */
    type?: string;
    /**
     * Seal the file, its name and type under a fresh key (AES-256-GCM); `share` then resolves
     * to a `PrivateShare`. Default false.
     */
    encrypt?: boolean;
    onProgress?: (progress: ShareProgress) => void;
}

/** What `share(file, { encrypt: true })` resolves to. */
export interface PrivateShare {
    /** The content id of the sealed bytes (what peers see and verify). */
    cid: string;
    /** The key that opens them (base64url): put it in the link's fragment only. */
    key: string;
}

/** What `download`'s `onProgress` gets. */
export interface DownloadProgress {
    bytes: number;
    total: number;
    bytesPerSecond: number;
    /** Peers asked for pieces right now. */
    peers: number;
}

/** Options of `peer.download`. */
export interface DownloadOptions {
    name?: string;
    type?: string;
    /** The key of sealed content (a `PrivateShare`'s `key`, the link's `k=`). */
    key?: string;
    onProgress?: (progress: DownloadProgress) => void;
    /** Give up with `ERR_NOT_FOUND` when no reachable peer has it for this long; default 15000. */
    timeoutMs?: number;
    /** Aborting it rejects the download with `ERR_CANCELLED`. */
    signal?: AbortSignal;
}

/** How a connection runs. */
export type Transport = "webrtc-direct" | "websocket" | "webrtc" | "relay" | "other";

/** One open connection (`connections()`, `connection` and `disconnection` events). */
export interface ConnectionInfo {
    peer: string;
    transport: Transport;
    direction: "inbound" | "outbound";
    /** How a direct browser-to-browser link runs: between host addresses, through a NAT's public address (STUN), or through a TURN relay. */
    path?: "host" | "stun" | "turn";
}

/** Bytes by where they came from. */
export interface ByteCounts {
    fromPeers: number;
    fromOrigin: number;
    fromStore: number;
}

/** Where one URL path's bytes came from. */
export interface ResourceOffload extends ByteCounts {
    cid: string;
    peers: string[];
    fetches: number;
}

/** Where `peer.fetch` got its bytes. */
export interface OffloadStats extends ByteCounts {
    offloadRatio: number;
    peers: string[];
    resources: Record<string, ResourceOffload>;
}

/** `stats()`. */
export interface PeerStats {
    server: string;
    swarm: string;
    serverTransport: Transport | null;
    connections: number;
    neighbours: number;
    relayReservation: boolean;
    pings: number;
    pingFailures: number;
    rttMs: number | null;
    rttP50Ms: number | null;
    rttP99Ms: number | null;
    rttMaxMs: number | null;
    rtcPeerConnections: number;
    dataChannels: number;
    closed: boolean;
    /** Absent when the tab has no storage. */
    offload?: OffloadStats;
}

/** One peer's part in a transfer. */
export interface TransferPeer {
    peer: string;
    bytesReceived: number;
    bytesSent: number;
    connected: boolean;
}

/** One resource the tab holds or fetches (`transfers()`). */
export interface TransferInfo {
    cid: string;
    name: string | null;
    bytes: number;
    total: number;
    pieces: number;
    totalPieces: number;
    downloading: boolean;
    peers: TransferPeer[];
    banned: string[];
}

/** `storage()`. */
export interface StorageInfo {
    usedBytes: number;
    quotaBytes: number;
}

/** `measureThroughput()`. */
export interface ThroughputResult {
    bytes: number;
    ms: number;
    megabytesPerSecond: number;
}

/** `measureVerification()`. */
export interface VerificationSpeed {
    bytes: number;
    hashMegabytesPerSecond: number;
    verifyMegabytesPerSecond: number;
}

/** The `detail` of each event dispatched on `peer.events`. */
export interface PeerEventMap {
    connection: ConnectionInfo;
    disconnection: ConnectionInfo;
    ping: { peer: string; rttMs: number };
    reservation: { relay: string };
    neighbour: { peer: string; direction: "inbound" | "outbound" };
    neighbourgone: { peer: string };
    server: { server: string; previous: string };
    fetched: {
        url: string;
        path: string;
        cid: string;
        fromPeers: number;
        fromOrigin: number;
        fromStore: number;
        peers: string[];
        ms: number;
    };
    close: Record<string, never>;
}

/** An event of `peer.events`: `event.detail` is `PeerEventMap[K]`. */
export type PeerEvent<K extends keyof PeerEventMap> = CustomEvent<PeerEventMap[K]>;

/** One file of a collection (`openCollection`). */
export interface CollectionEntry {
    /** Relative path, `/`-separated, checked to stay inside any folder it is saved to. */
    path: string;
    /** Bytes of the file. */
    size: number;
    /** What to `download`. */
    cid: string;
    /** The file's own key (a private collection), to pass to `download`; else null. */
    key: string | null;
}

/** What `openCollection` resolves to. */
export interface CollectionInfo {
    /**
     * The collection's name: `shareFiles`' `name` for a private one (sealed in its index); for
     * a public one, whose name only its link carries, the `name` option given here, else "files".
     */
    name: string;
    files: CollectionEntry[];
}

/** What `saveCollection`'s `onProgress` gets: the current file's download progress, placed. */
export interface CollectionProgress extends DownloadProgress {
    /** The file's path in the collection. */
    path: string;
    /** The file's index among the files being saved, from 0. */
    file: number;
    /** How many files are being saved. */
    files: number;
    /** Bytes of the earlier files' contents plus this file's `bytes`. */
    collectionBytes: number;
    /** Bytes of every chosen file's content (its sealed bytes, when private). */
    collectionTotal: number;
}

/** Options of `peer.saveCollection`. */
export interface SaveCollectionOptions {
    /** The key of a private collection (the link's `k=`). */
    key?: string;
    /** Paths of the files to save; default all. */
    paths?: string[];
    /**
     * A file to write a zip into, or a folder to write the files into at their paths; default
     * a zip in the origin's private storage, which `saveCollection` resolves to.
     */
    to?: FileSystemFileHandle | FileSystemDirectoryHandle;
    onProgress?: (progress: CollectionProgress) => void;
    /** For each file, as `download`'s `timeoutMs`; default 15000. */
    timeoutMs?: number;
    /** Aborting it rejects with `ERR_CANCELLED`; no zip is kept. */
    signal?: AbortSignal;
}

/** `Peer.share`, whose result follows its `encrypt` option (merged into the class `Peer`). */
export interface Peer {
    /**
     * Hashes `file`, stores it and serves it to other tabs; resolves to its content id. With
     * `encrypt: true` the file, its name and type are sealed under a fresh key first, and it
     * resolves to `{ cid, key }`: only a holder of `key` can open the content.
     */
    share(file: Blob, options: ShareOptions & { encrypt: true }): Promise<PrivateShare>;
    share(file: Blob, options?: ShareOptions & { encrypt?: false }): Promise<string>;
    /** `encrypt` known only at run time: a content id or a `PrivateShare`. */
    share(file: Blob, options?: ShareOptions): Promise<string | PrivateShare>;
    /**
     * Shares `files` under one content id: each file, then an index of their paths (a file's
     * `webkitRelativePath`, or its name), sizes and content ids. With `encrypt: true` each file
     * has a key of its own, listed in the index, which is sealed under the key it resolves with.
     */
    shareFiles(files: File[], options: ShareOptions & { encrypt: true }): Promise<PrivateShare>;
    shareFiles(files: File[], options?: ShareOptions & { encrypt?: false }): Promise<string>;
    shareFiles(files: File[], options?: ShareOptions): Promise<string | PrivateShare>;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `JoinOptions` as a parameter (optional parameters keep their `?` this way).
    #[wasm_bindgen(typescript_type = "JoinOptions")]
    pub type JoinOptionsArg;
    /// `ShareOptions` as a parameter.
    #[wasm_bindgen(typescript_type = "ShareOptions")]
    pub type ShareOptionsArg;
    /// `SaveCollectionOptions` as a parameter.
    #[wasm_bindgen(typescript_type = "SaveCollectionOptions")]
    pub type SaveOptionsArg;
    /// `DownloadOptions` as a parameter.
    #[wasm_bindgen(typescript_type = "DownloadOptions")]
    pub type DownloadOptionsArg;
    /// `RequestInit` as a parameter.
    #[wasm_bindgen(typescript_type = "RequestInit")]
    pub type RequestInitArg;
}
