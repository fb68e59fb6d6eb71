// The links the demo page makes and opens. Browsers never send the fragment (after `#`) to the
// server.
// - a private file: `<origin>/#<content id>&k=<key>`; its name and type are sealed with it;
// - a public file: `<origin>/#<content id>&name=<file name>&type=<MIME type>`;
// - several files (a collection, `peer.shareFiles`): `<origin>/#<index's content id>&k=<key>&files`
//   when private, `…&name=<collection name>&files` when public;
// each with `&swarm=<swarm>` when the swarm is not "demo".

/** What a link names: `{ cid, key, name, type, swarm, collection }`, or null. */
export function parseLink(hash) {
  const [cid, ...rest] = hash.replace(/^#/, "").split("&");
  if (!cid) return null;
  const params = new URLSearchParams(rest.join("&"));
  const key = params.get("k") ?? undefined;
  const collection = params.has("files");
  const unnamed = collection ? "files" : key ? "a private file" : "download";
  return { cid, key, name: params.get("name") ?? unnamed, type: params.get("type") ?? "", swarm: params.get("swarm"), collection };
}

/**
 * The link to a share: `shared` is a content id, or `{ cid, key }` for a private share; `name`
 * and `type` describe a public one; `collection` says it names several files.
 */
export function linkFor(shared, { name, type, collection, swarm }) {
  const params = typeof shared === "string"
    ? new URLSearchParams(collection ? { name } : { name, type: type || "application/octet-stream" })
    : new URLSearchParams({ k: shared.key });
  if (swarm !== "demo") params.set("swarm", swarm);
  const cid = typeof shared === "string" ? shared : shared.cid;
  return `${location.origin}/#${cid}&${params}${collection ? "&files" : ""}`;
}
