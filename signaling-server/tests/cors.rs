//! `--allow-origin`: which pages on other origins may read the public listener (`/bootstrap`,
//! `/pkg/`), through a real server process.

mod common;

use common::{loopback_args, run_to_exit, start_server, temp_dir};

/// The `Access-Control-Allow-Origin` answered to a `GET /bootstrap` from a page of `origin`.
async fn allowed(http: &str, origin: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .get(format!("{http}/bootstrap"))
        .header("origin", origin)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200, "the document is served either way");
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn any_origin_by_default_and_only_the_listed_ones_when_given() {
    let dir = temp_dir("cors");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    assert_eq!(
        allowed(&server.http, "https://anyone.example")
            .await
            .as_deref(),
        Some("*")
    );
    // `*` does not vary by origin: a Vary on every response slowed the demo site's loads.
    let response = reqwest::get(format!("{}/cdn/", server.http)).await.unwrap();
    assert_eq!(response.headers().get("vary"), None);
    server.stop().await;

    let mut args = loopback_args(&dir.join("key.json"));
    args.extend([
        "--allow-origin".into(),
        "https://site.example".into(),
        "--allow-origin".into(),
        "http://localhost:3000".into(),
    ]);
    let server = start_server(&args).await;
    for origin in ["https://site.example", "http://localhost:3000"] {
        assert_eq!(allowed(&server.http, origin).await.as_deref(), Some(origin));
    }
    assert_eq!(allowed(&server.http, "https://evil.example").await, None);
    server.stop().await;
}

#[tokio::test]
async fn an_origin_with_a_path_is_refused_at_start() {
    let (code, stderr) = run_to_exit(&["--allow-origin", "https://site.example/app"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not an origin"), "{stderr}");
}
