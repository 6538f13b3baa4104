//! The HTTP routes and the server's lifecycle: serve until shutdown is asked for, then drain
//! in-flight requests within a bound.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The path of the liveness endpoint that the image's HEALTHCHECK probes.
pub const HEALTH_PATH: &str = "/healthz";

/// The longest name `/hello` accepts, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// What `GET /` reports about the running build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub description: String,
    pub version: String,
    pub revision: String,
}

impl Info {
    /// The values compiled into this binary.
    pub fn of_this_build() -> Self {
        Self {
            name: crate::NAME.to_owned(),
            description: crate::DESCRIPTION.to_owned(),
            version: crate::VERSION.to_owned(),
            revision: crate::REVISION.to_owned(),
        }
    }
}

/// The service's routes, wrapped in request logging.
pub fn router(info: Info) -> Router {
    let info = Arc::new(info);
    Router::new()
        .route(HEALTH_PATH, get(healthz))
        .route("/hello", get(hello))
        .route("/", get(move || index(Arc::clone(&info))))
        .layer(middleware::from_fn(log_request))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Greets `?name=` (default `world`).
async fn hello(Query(params): Query<HashMap<String, String>>) -> Response {
    let name = params
        .get("name")
        .map(String::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("world");
    if name.chars().count() > MAX_NAME_CHARS {
        let error = format!("name must be at most {MAX_NAME_CHARS} characters");
        return (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response();
    }
    Json(json!({"message": format!("Hello, {name}!")})).into_response()
}

async fn index(info: Arc<Info>) -> Json<Value> {
    Json(json!({
        "name": info.name,
        "description": info.description,
        "version": info.version,
        "revision": info.revision,
    }))
}

/// One JSON log line per request; health probes only at debug level, so that the HEALTHCHECK
/// does not flood the logs.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if path == HEALTH_PATH {
        tracing::debug!(%method, path, status, duration_ms, "request");
    } else {
        tracing::info!(%method, path, status, duration_ms, "request");
    }
    response
}

/// Why serving stopped other than by a clean drain.
#[derive(Debug)]
pub enum ServeError {
    /// Accepting or serving connections failed.
    Io(io::Error),
    /// In-flight requests were still running when the drain bound ran out.
    DrainTimeout(Duration),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(error) => write!(f, "serve: {error}"),
            Self::DrainTimeout(bound) => {
                write!(f, "drain: requests still running after {bound:?}")
            }
        }
    }
}

impl std::error::Error for ServeError {}

/// Serves `app` on `listener` until `shutdown` completes (SIGTERM or SIGINT in `main`), then
/// stops accepting connections and lets in-flight requests finish for at most `drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> Result<(), ServeError> {
    let asked = Arc::new(Notify::new());
    let notify = Arc::clone(&asked);
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(drain_ms = drain.as_millis() as u64, "shutting down");
            notify.notify_one();
        })
        .into_future();
    tokio::pin!(server);
    // Serve without a bound until shutdown is asked for; from then on, for at most `drain`.
    tokio::select! {
        result = &mut server => return result.map_err(ServeError::Io),
        () = asked.notified() => {}
    }
    match tokio::time::timeout(drain, server).await {
        Ok(result) => result.map_err(ServeError::Io),
        Err(_) => Err(ServeError::DrainTimeout(drain)),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    fn info() -> Info {
        Info {
            name: "svc".into(),
            description: "d".into(),
            version: "1.2.3".into(),
            revision: "abc".into(),
        }
    }

    async fn get_json(uri: &str) -> (StatusCode, Value) {
        let response = router(info())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/json", "{uri}");
        let body = to_bytes(response.into_body(), 64 * 1024).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn healthz_is_ok() {
        assert_eq!(
            get_json("/healthz").await,
            (StatusCode::OK, json!({"status": "ok"}))
        );
    }

    #[tokio::test]
    async fn hello_greets() {
        let cases = [
            ("/hello", "Hello, world!"),
            ("/hello?name=", "Hello, world!"),
            ("/hello?name=Ferris", "Hello, Ferris!"),
            ("/hello?name=J%C3%BCrgen%20M", "Hello, Jürgen M!"),
        ];
        for (uri, message) in cases {
            assert_eq!(
                get_json(uri).await,
                (StatusCode::OK, json!({"message": message})),
                "{uri}"
            );
        }
    }

    #[tokio::test]
    async fn hello_refuses_long_names() {
        let uri = format!("/hello?name={}", "x".repeat(MAX_NAME_CHARS + 1));
        let (status, body) = get_json(&uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().contains("at most 100"));
    }

    #[tokio::test]
    async fn index_reports_the_build() {
        let (status, body) = get_json("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"name": "svc", "description": "d", "version": "1.2.3", "revision": "abc"})
        );
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let response = router(info())
            .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
