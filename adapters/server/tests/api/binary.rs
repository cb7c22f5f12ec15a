//! The real binary: configuration errors, the `migrate` command, serving and a graceful stop
//! on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub(crate) fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_whatsapp-agent"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "APP_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"),
        )
        .env("APP_LOG__FORMAT", "json");
    command
}

fn sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!("wa_bin_{}.db", uuid::Uuid::new_v4().simple()));
    format!("sqlite://{}?mode=rwc", path.display())
}

#[test]
fn a_bad_value_stops_start_up_with_one_line_naming_the_key() {
    let output = binary()
        .env("PORT", "eighty")
        .output()
        .expect("binary runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.port"), "{stderr}");
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    let url = sqlite_url();
    let output = binary()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .expect("binary runs");

    assert!(output.status.success(), "{output:?}");
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .expect("path");
    assert!(std::path::Path::new(path).exists());
}

#[tokio::test]
async fn serves_then_stops_gracefully_on_sigterm() {
    let mut child = binary()
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("DATABASE_URL", sqlite_url())
        .env("OPENAI_API_KEY", "")
        .env("TWILIO_AUTH_TOKEN", "secret-token-value")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut logs = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs that it listens");
        logs.push(line.clone());
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if entry["message"] == "listening" && entry["target"] == "wa_server::app" {
            break entry["addr"].as_str().expect("addr").to_string();
        }
    };

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{addr}/chat/"))
        .json(&json!({"content": "I need help with my medical consultation", "media_urls": [], "audio_urls": []}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");

    assert!(exit.success(), "exit status {exit:?}");
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        logs.push(line);
    }
    let all = logs.join("\n");
    assert!(all.contains("shutdown signal received"), "{all}");
    assert!(
        all.contains("\"status\":200") || all.contains("\"status\": 200"),
        "{all}"
    );
    assert!(!all.contains("secret-token-value"), "secrets never logged");
    assert!(
        !all.contains("I need help"),
        "message bodies never logged at info"
    );
}
