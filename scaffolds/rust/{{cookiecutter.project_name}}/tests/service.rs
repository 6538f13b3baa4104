//! The service over real sockets: the health probe against a bound listener, the bounded drain,
//! and the binary itself started, probed and stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use {{ cookiecutter.__crate_name }}::healthcheck;
use {{ cookiecutter.__crate_name }}::server::ServeError;
use {{ cookiecutter.__crate_name }}::server::{self, Info};

/// The service binary cargo built for these tests (`CARGO_BIN_EXE_<name>`; the binary is named
/// after the package).
const BINARY: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

fn info() -> Info {
    Info {
        name: "svc".into(),
        description: "test".into(),
        version: "0.0.0".into(),
        revision: "test".into(),
    }
}

async fn local_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A blocking HTTP/1.1 GET; returns the status code and the body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = healthcheck::parse_status(response.as_bytes()).unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_probe_passes_against_a_serving_router_and_drain_is_clean() {
    let (listener, port) = local_listener().await;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(
        listener,
        server::router(info()),
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));

    healthcheck::probe(port, healthcheck::DEFAULT_TIMEOUT)
        .await
        .expect("the probe fails against a healthy server");
    let (status, body) = tokio::task::spawn_blocking(move || http_get(port, "/hello?name=it"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["message"], "Hello, it!");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("serve did not return after shutdown")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(
        healthcheck::probe(port, Duration::from_secs(1))
            .await
            .is_err(),
        "the port still answers after shutdown"
    );
}

#[tokio::test]
async fn the_probe_fails_on_a_non_200_answer() {
    let (listener, port) = local_listener().await;
    let app = Router::new().route(
        server::HEALTH_PATH,
        get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
    );
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    let error = healthcheck::probe(port, healthcheck::DEFAULT_TIMEOUT)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("503"), "{error}");
    serving.abort();
}

#[tokio::test]
async fn a_request_slower_than_the_drain_bound_is_cut_off() {
    let (listener, port) = local_listener().await;
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        Duration::from_millis(300),
    ));
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok();
        let _ = stream.read(&mut [0u8; 64]);
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // the request is in flight
    let started = Instant::now();
    stop.send(()).unwrap();
    let result = serving.await.unwrap();
    assert!(
        matches!(result, Err(ServeError::DrainTimeout(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let _ = client.join();
}

#[test]
fn the_binary_serves_probes_itself_and_stops_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BINARY)
        .env("PORT", port.to_string())
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe = Command::new(BINARY)
            .arg("healthcheck")
            .env("PORT", port.to_string())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if probe.success() {
            break;
        }
        assert!(Instant::now() < deadline, "not healthy within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, _) = http_get(port, "/healthz");
    assert_eq!(status, 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().ok();
            panic!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0), "exit after SIGTERM");

    let messages: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(&line.unwrap()).expect("a JSON log line");
            event["message"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        messages.first().map(String::as_str),
        Some("listening"),
        "{messages:?}"
    );
    for expected in ["shutdown requested", "shutting down"] {
        assert!(messages.iter().any(|m| m == expected), "{messages:?}");
    }
    assert_eq!(
        messages.last().map(String::as_str),
        Some("stopped"),
        "{messages:?}"
    );
}

#[test]
fn bad_configuration_exits_with_usage_error() {
    let output = Command::new(BINARY)
        .env("PORT", "not-a-port")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PORT=\"not-a-port\""));
}
