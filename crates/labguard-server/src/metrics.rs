//! `/metrics` behind a bearer token. Without a configured token the route answers 404, so
//! an unconfigured server tells a scanner nothing; with one, `Authorization: Bearer <token>`
//! is compared in constant time and anything else is 401.

use std::io::Read;
use std::path::Path;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::state::AppState;

/// Environment variable holding the token (for deployments that pass secrets that way).
pub const TOKEN_ENV: &str = "LABGUARD_METRICS_TOKEN";
/// A token file larger than this is refused (a token is a line, not a document).
pub const MAX_TOKEN_FILE: u64 = 4096;
/// Shorter tokens are refused: a scraper's token is machine-made, 16 bytes is a floor.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("metrics token file {0}: {1}")]
    Io(String, std::io::Error),
    #[error("metrics token file {0} is readable by other users; run `chmod 600` on it")]
    Permissions(String),
    #[error("metrics token file {0} is larger than {MAX_TOKEN_FILE} bytes")]
    TooLarge(String),
    #[error(
        "the metrics token must be at least {MIN_TOKEN_LEN} printable characters without spaces"
    )]
    Weak,
}

/// The scraper's secret; zeroized when dropped.
pub struct MetricsToken(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

impl MetricsToken {
    /// A token from text (surrounding whitespace, such as a file's final newline, dropped).
    pub fn parse(text: &str) -> Result<MetricsToken, TokenError> {
        let t = text.trim();
        if t.len() < MIN_TOKEN_LEN || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Weak);
        }
        Ok(MetricsToken(Zeroizing::new(t.as_bytes().to_vec())))
    }

    /// Reads the token from a file that only its owner may read, at most [`MAX_TOKEN_FILE`]
    /// bytes.
    pub fn from_file(path: &Path) -> Result<MetricsToken, TokenError> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| TokenError::Io(name.clone(), e))?;
        let meta = f.metadata().map_err(|e| TokenError::Io(name.clone(), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(TokenError::Permissions(name));
            }
        }
        if meta.len() > MAX_TOKEN_FILE {
            return Err(TokenError::TooLarge(name));
        }
        // Read one byte past the limit: the file may have grown since the metadata.
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_TOKEN_FILE as usize + 1));
        f.take(MAX_TOKEN_FILE + 1)
            .read_to_end(&mut buf)
            .map_err(|e| TokenError::Io(name.clone(), e))?;
        if buf.len() as u64 > MAX_TOKEN_FILE {
            return Err(TokenError::TooLarge(name));
        }
        let text = std::str::from_utf8(&buf).map_err(|_| TokenError::Weak)?;
        MetricsToken::parse(text)
    }

    /// The token from [`TOKEN_ENV`], if set.
    pub fn from_env() -> Result<Option<MetricsToken>, TokenError> {
        match std::env::var(TOKEN_ENV) {
            Ok(v) => {
                let v = Zeroizing::new(v);
                MetricsToken::parse(&v).map(Some)
            }
            Err(_) => Ok(None),
        }
    }

    /// True when `presented` is the token, in time independent of where they differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        // Equal lengths first (length is not the secret); ct_eq then runs over every byte.
        presented.len() == self.0.len() && bool::from(self.0.as_slice().ct_eq(presented))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = v.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| v.get(7..))
        .flatten()
}

pub async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &st.settings.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bearer(&headers).is_some_and(|p| token.matches(p)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
        )
            .into_response();
    }
    match st.metrics.encode() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
