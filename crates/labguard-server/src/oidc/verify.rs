//! ID-token verification: the `openidconnect` crate's checks (signature against the issuer's
//! JWKS, `iss`, `aud`, `exp`, `nonce`), restricted to asymmetric algorithms.

use base64::Engine;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreClient, CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{ClientId, ClientSecret, Nonce};

use super::{Client, OidcError};

/// What labguard takes from a verified ID token.
#[derive(Debug, Clone)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Every claim, for the role rules (read from the token the crate verified).
    pub claims: serde_json::Value,
}

/// Only asymmetric signatures: an `HS256` token would be checked with the client secret,
/// which the directory's key set does not vouch for, and `none` is never accepted.
const ALLOWED_ALGS: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

pub(super) fn verify(
    client: &Client,
    token: &CoreIdToken,
    nonce: &Nonce,
    now: DateTime<Utc>,
) -> Result<Verified, OidcError> {
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS.iter().cloned())
        .set_time_fn(move || now);
    let c = token
        .claims(&verifier, nonce)
        .map_err(|e| OidcError::IdToken(e.to_string()))?;
    // The crate has checked this exact compact token; its payload is read for the claims
    // the core types do not carry (groups, roles, the lab's own).
    let raw = token.to_string();
    let claims = raw
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| OidcError::IdToken("payload".into()))?;
    Ok(Verified {
        issuer: c.issuer().to_string(),
        subject: c.subject().to_string(),
        amr: c
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.to_string()).collect())
            .unwrap_or_default(),
        acr: c.auth_context_ref().map(|a| a.to_string()),
        username: c.preferred_username().map(|u| u.to_string()),
        email: c.email().map(|e| e.to_string()),
        name: c.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
        claims,
    })
}

/// Verifies `raw` as an ID token of the directory described by `metadata_json` (its
/// discovery document) and `jwks_json` (its key set), for `client_id`, with `nonce`, at `now`:
/// the same checks a real sign-in runs, without the network.
pub fn verify_id_token(
    metadata_json: &str,
    jwks_json: &str,
    client_id: &str,
    client_secret: Option<&str>,
    raw: &str,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Verified, OidcError> {
    let meta: CoreProviderMetadata = serde_json::from_str(metadata_json)
        .map_err(|e| OidcError::Directory(format!("metadata: {e}")))?;
    let jwks: CoreJsonWebKeySet =
        serde_json::from_str(jwks_json).map_err(|e| OidcError::Directory(format!("jwks: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        meta.set_jwks(jwks),
        ClientId::new(client_id.into()),
        client_secret.map(|s| ClientSecret::new(s.into())),
    );
    let token: CoreIdToken = raw
        .parse()
        .map_err(|e: serde_json::Error| OidcError::IdToken(e.to_string()))?;
    verify(&client, &token, &Nonce::new(nonce.into()), now)
}
