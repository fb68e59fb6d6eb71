// A test certificate authority for HTTPS and WSS in tests and benchmarks: openssl makes a CA and
// a certificate it signs for the names the tests map (Chromium resolves them with
// --host-resolver-rules and trusts the CA by its key with --ignore-certificate-errors-spki-list).
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A test CA and a certificate it signs for peerfetch.test and site.test (openssl, P-256), in
 * `dir`. Returns the chain and key files, the PEMs, and the base64 SHA-256 of the CA's public
 * key as Chromium's SPKI list wants it.
 */
export function makeCertificates(dir) {
  const file = (name) => join(dir, name);
  const openssl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2",
    "-subj", "/CN=peerfetch test CA", "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign");
  openssl("req", ...ec, "-keyout", file("leaf.key"), "-out", file("leaf.csr"), "-subj", "/CN=peerfetch.test");
  writeFileSync(file("leaf.ext"), "subjectAltName=DNS:peerfetch.test,DNS:site.test\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
    "-CAcreateserial", "-out", file("leaf.pem"), "-days", "2", "-extfile", file("leaf.ext"));
  const caPem = readFileSync(file("ca.pem"), "utf8");
  const leafPem = readFileSync(file("leaf.pem"), "utf8");
  writeFileSync(file("chain.pem"), leafPem + caPem);
  const spki = createPublicKey(caPem).export({ type: "spki", format: "der" });
  return {
    chain: file("chain.pem"),
    keyFile: file("leaf.key"),
    cert: leafPem + caPem,
    key: readFileSync(file("leaf.key"), "utf8"),
    caSpki: createHash("sha256").update(spki).digest("base64"),
  };
}
