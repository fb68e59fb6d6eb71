//! Shutting down when asked, however early: regression test for a SIGTERM that arrived right
//! after the banner, before the server had installed its handler, and killed it.
mod common;

use common::{loopback_args, start_server, temp_dir};

#[tokio::test]
async fn sigterm_right_after_the_banner_exits_cleanly() {
    for round in 0..5 {
        let dir = temp_dir(&format!("shutdown-{round}"));
        let server = start_server(&loopback_args(&dir.join("key.json"))).await;
        // `stop` sends SIGTERM at once and asserts exit status 0.
        server.stop().await;
    }
}
