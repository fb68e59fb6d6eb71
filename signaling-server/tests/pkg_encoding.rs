//! The wasm package at `/pkg/` is sent precompressed: `scripts/build-wasm.sh` writes `FILE.br`
//! and `FILE.gz` beside each file, and the server sends the copy the request accepts, with the
//! plain file's `Content-Type`, through a real server process.

mod common;

use common::{loopback_args, start_server, temp_dir};
use std::io::{Read, Write};

/// A package folder as scripts/build-wasm.sh leaves it, made here (no wasm build needed): the
/// module with both copies, and a file without any.
fn package(dir: &std::path::Path) -> Vec<u8> {
    // Compressible like a module: a wasm header, then repeating instructions with some noise.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(
        (0..200_000u32).map(|i| [0x20, 0x41, 0x6a, 0x21][i as usize % 4] ^ (i % 7 == 0) as u8),
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("peerfetch_bg.wasm"), &wasm).unwrap();
    let mut br = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    br.write_all(&wasm).unwrap();
    std::fs::write(dir.join("peerfetch_bg.wasm.br"), br.into_inner()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&wasm).unwrap();
    std::fs::write(dir.join("peerfetch_bg.wasm.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("plain.js"), "export {};\n").unwrap();
    wasm
}

/// `GET url` with `accept_encoding` (none when `None`): the `Content-Encoding`, the
/// `Content-Type`, the `Vary` and the body as sent.
async fn get(
    url: &str,
    accept_encoding: Option<&str>,
) -> (Option<String>, String, String, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(encodings) = accept_encoding {
        request = request.header("accept-encoding", encodings);
    }
    let response = request.send().await.expect("answers");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let (encoding, content_type, vary) = (
        header("content-encoding"),
        header("content-type").expect("has a content type"),
        header("vary").unwrap_or_default(),
    );
    let body = response.bytes().await.unwrap().to_vec();
    (encoding, content_type, vary, body)
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[tokio::test]
async fn the_package_is_sent_as_brotli_or_gzip_by_accept_encoding_with_its_wasm_type() {
    let dir = temp_dir("pkg-encoding");
    let pkg = dir.join("pkg");
    let wasm = package(&pkg);
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--pkg-dir".into(), pkg.display().to_string()]);
    let server = start_server(&args).await;
    let url = format!("{}/pkg/peerfetch_bg.wasm", server.http);

    // What browsers send over https (brotli preferred) and over plain http (no br).
    for (accept, sent, decode) in [
        (Some("br"), Some("br"), unbrotli as fn(&[u8]) -> Vec<u8>),
        (Some("gzip, deflate, br, zstd"), Some("br"), unbrotli),
        (Some("gzip"), Some("gzip"), gunzip),
        (Some("gzip, deflate"), Some("gzip"), gunzip),
        (None, None, <[u8]>::to_vec),
        (Some("identity"), None, <[u8]>::to_vec),
    ] {
        let (encoding, content_type, vary, body) = get(&url, accept).await;
        assert_eq!(encoding.as_deref(), sent, "Accept-Encoding: {accept:?}");
        // `WebAssembly.instantiateStreaming` refuses any other type.
        assert_eq!(
            content_type, "application/wasm",
            "Accept-Encoding: {accept:?}"
        );
        assert!(
            vary.to_ascii_lowercase().contains("accept-encoding"),
            "Vary: {vary}"
        );
        if sent.is_some() {
            assert!(body.len() < wasm.len() / 2, "the compressed copy is sent");
        }
        assert_eq!(decode(&body), wasm, "Accept-Encoding: {accept:?}");
    }

    // A file without copies is sent as it is, whatever the request accepts.
    let (encoding, content_type, _, body) =
        get(&format!("{}/pkg/plain.js", server.http), Some("br, gzip")).await;
    assert_eq!(encoding, None);
    assert_eq!(content_type, "text/javascript");
    assert_eq!(body, b"export {};\n");
    server.stop().await;
}
