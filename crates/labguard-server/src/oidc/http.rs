//! The directory's HTTP client, as `openidconnect` calls it, with a size cap: discovery,
//! JWKS and token answers are a few kilobytes, so a directory (or whatever answers in its
//! name) that sends more is refused rather than buffered. Deadlines and the refusal to follow
//! redirects are the `reqwest::Client`'s own settings.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

/// Largest directory response read, in bytes.
pub const MAX_RESPONSE: usize = 1 << 20;

pub struct Capped<'a>(pub &'a reqwest::Client);

type Error = HttpClientError<reqwest::Error>;

impl<'c> AsyncHttpClient<'c> for Capped<'_> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request: reqwest::Request = request.try_into().map_err(Box::new)?;
            let mut response = self.0.execute(request).await.map_err(Box::new)?;
            if response
                .content_length()
                .is_some_and(|n| n > MAX_RESPONSE as u64)
            {
                return Err(too_large());
            }
            let mut builder = openidconnect::http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
                if body.len() + chunk.len() > MAX_RESPONSE {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}

fn too_large() -> Error {
    HttpClientError::Other(format!(
        "the directory's response is larger than {MAX_RESPONSE} bytes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every request with `body_len` bytes, declared or chunked.
    async fn server(body_len: usize, declared: bool) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = if declared {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {body_len}\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string()
                };
                let _ = s.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = body_len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if s.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                    left -= n;
                }
            }
        });
        addr
    }

    fn get(addr: std::net::SocketAddr) -> HttpRequest {
        openidconnect::http::Request::builder()
            .uri(format!("http://{addr}/.well-known/openid-configuration"))
            .body(Vec::new())
            .unwrap()
    }

    #[tokio::test]
    async fn oversized_directory_answers_are_refused_declared_or_not() {
        let client = reqwest::Client::new();
        let small = server(1000, true).await;
        let ok = Capped(&client).call(get(small)).await.unwrap();
        assert_eq!(ok.body().len(), 1000);
        for declared in [true, false] {
            let big = server(MAX_RESPONSE + 1, declared).await;
            let e = Capped(&client).call(get(big)).await.unwrap_err();
            assert!(e.to_string().contains("larger than"), "{e}");
        }
    }
}
