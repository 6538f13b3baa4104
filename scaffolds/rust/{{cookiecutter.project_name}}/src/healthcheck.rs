//! The self-probe behind the image's HEALTHCHECK: `{{ cookiecutter.__binary }} healthcheck` sends
//! `GET /healthz` to `127.0.0.1:$PORT` over a plain TCP connection. It needs no shell and no
//! curl, so it works on scratch and distroless, and no HTTP client crate.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::HEALTH_PATH;

/// How long the whole probe may take: below the HEALTHCHECK's `--timeout=3s`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Ok if `GET /healthz` on `127.0.0.1:port` answers status 200 within `timeout`.
pub async fn probe(port: u16, timeout: Duration) -> io::Result<()> {
    match tokio::time::timeout(timeout, get_status(port)).await {
        Ok(Ok(200)) => Ok(()),
        Ok(Ok(status)) => Err(io::Error::other(format!("{HEALTH_PATH} answered {status}"))),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {timeout:?}"),
        )),
    }
}

async fn get_status(port: u16) -> io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "GET {HEALTH_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    // The status line is all we need; read until it is complete (or 1 KiB, or EOF).
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    parse_status(&head)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP/1.x response"))
}

/// The status code of an HTTP/1.x status line (`HTTP/1.1 200 OK`).
pub fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status(b"HTTP/1.1 204\r\n"), Some(204));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 20\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[tokio::test]
    async fn fails_when_nothing_listens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(probe(port, Duration::from_secs(1)).await.is_err());
    }
}
