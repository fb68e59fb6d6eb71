//! The server as a site's origin: the `manifest` subcommand, `Range` answers, and the bytes
//! sent per file at the admin listener's `/origin-stats`.

mod common;

use common::*;
use peerfetch::cdn::manifest::Manifest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn manifest_subcommand_writes_a_manifest_the_tab_can_read() {
    let dir = temp_dir("manifest-cmd");
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("css")).unwrap();
    std::fs::write(site.join("css/site.css"), b"body{}").unwrap();
    let site_arg = site.display().to_string();
    let (code, stderr) = run_to_exit(&["manifest", &site_arg, "--base", "/cdn"]).await;
    assert_eq!(code, 0, "{stderr}");
    let manifest =
        Manifest::parse(&std::fs::read(site.join("peerfetch-manifest.json")).unwrap()).unwrap();
    let entry = manifest.get("/cdn/css/site.css").expect("covered");
    assert_eq!(entry.content_type, "text/css");
    assert_eq!(entry.cid.len(), 6);

    let (code, stderr) = run_to_exit(&["manifest", "/no/such/folder"]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read /no/such/folder"), "{stderr}");
}

#[tokio::test]
async fn origin_answers_ranges_and_counts_bytes_per_path() {
    let dir = temp_dir("origin");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("cdn")).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(www.join("cdn/blob.bin"), &data).unwrap();
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--www-dir".into(), www.display().to_string()]);
    let server = start_server(&args).await;
    let client = reqwest::Client::new();
    let url = format!("{}/cdn/blob.bin", server.http);

    let whole = client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap(), data);
    let part = client
        .get(&url)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        "bytes 1000-1999/100000"
    );
    assert_eq!(part.bytes().await.unwrap(), data[1000..2000]);
    let missing = client
        .get(format!("{}/cdn/none", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let stats: serde_json::Value = client
        .get(format!("{}/origin-stats", server.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["paths"]["/cdn/blob.bin"], 101_000, "{stats}");
    assert_eq!(stats["totalBytes"], 101_000, "{stats}");
    assert_eq!(stats["requests"], 2, "{stats}");
    server.stop().await;
}

/// `GET path` written as is (no client normalizes it first); returns the status line.
async fn raw_get(http: &str, path: &str) -> String {
    let addr = http.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("answered within 10 s")
    .expect("readable");
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn origin_stats_count_aliases_of_a_file_once_and_stay_bounded() {
    let dir = temp_dir("origin-aliases");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("cdn")).unwrap();
    std::fs::write(www.join("cdn/a.txt"), b"0123456789").unwrap();
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--www-dir".into(), www.display().to_string()]);
    let server = start_server(&args).await;
    let mut aliases = vec![
        "/cdn/a.txt".to_owned(),
        "/./cdn/a.txt".to_owned(),
        "//cdn/a.txt".to_owned(),
        "/%63dn/a.txt".to_owned(),
        "/cdn/./%61.txt".to_owned(),
    ];
    // Many more distinct spellings of the same file, and as many paths that name no file.
    aliases.extend((1..=100).map(|n| format!("/cdn{}a.txt", "/".repeat(n))));
    let missing: Vec<String> = (0..100).map(|n| format!("/cdn/none-{n}")).collect();
    for path in &aliases {
        assert_eq!(
            raw_get(&server.http, path).await,
            "HTTP/1.1 200 OK",
            "{path}"
        );
    }
    for path in &missing {
        assert_eq!(raw_get(&server.http, path).await, "HTTP/1.1 404 Not Found");
    }
    let stats: serde_json::Value = reqwest::get(format!("{}/origin-stats", server.admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = stats["paths"].as_object().expect("an object");
    assert_eq!(paths.len(), 1, "one file, one entry: {stats}");
    assert_eq!(stats["paths"]["/cdn/a.txt"], 10 * aliases.len(), "{stats}");
    assert_eq!(stats["requests"], aliases.len(), "{stats}");
    server.stop().await;
}
