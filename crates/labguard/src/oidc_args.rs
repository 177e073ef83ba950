//! `labguard serve`'s single sign-on flags (OpenID Connect). The flow is labguard-server's
//! `oidc`; this file parses flags and reads the client secret file (owner-only, bounded,
//! zeroized, never printed).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use labguard_core::Role;
use labguard_identity::oidc::{FlowLimits, MfaPolicy, RoleMap, DEFAULT_MFA_ACR};
use labguard_server::oidc::{Oidc, OidcConfig, DEFAULT_SCOPES};
use zeroize::Zeroizing;

const MAX_SECRET_FILE: u64 = 4096;

#[derive(Args, Debug, Clone, Default)]
pub struct OidcArgs {
    /// Single sign-on with the lab's directory: its OpenID Connect issuer URL (https; http
    /// only on a loopback address), e.g. https://login.microsoftonline.com/TENANT/v2.0.
    #[arg(long, requires_all = ["oidc_client_id", "oidc_redirect_url"])]
    pub oidc_issuer: Option<String>,
    /// The client (application) id registered for labguard at the directory.
    #[arg(long)]
    pub oidc_client_id: Option<String>,
    /// File holding the client secret (owner-only, at most 4 KiB). Without it labguard is a
    /// public client (PKCE only).
    #[arg(long)]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The redirect URL registered at the directory: https://HOST:PORT/auth/oidc/callback.
    #[arg(long)]
    pub oidc_redirect_url: Option<String>,
    /// A role rule, `CLAIM=VALUE -> ROLE` (repeatable, first match wins), e.g.
    /// `groups=lab-techs -> lab-technologist`. A sign-in no rule matches is refused.
    #[arg(long = "oidc-role-map")]
    pub oidc_role_map: Vec<String>,
    /// Roles that need MFA besides those that see patient data (which always do), comma
    /// separated or repeated.
    #[arg(long, value_delimiter = ',')]
    pub oidc_mfa_roles: Vec<String>,
    /// `acr` values that count as MFA (repeatable; default: the OpenID PAPE multi-factor
    /// URI, `phr`, `phrh`). `amr` values mfa, mca, otp, hwk, swk and sc always count.
    #[arg(long)]
    pub oidc_mfa_acr: Vec<String>,
    /// Scopes asked for besides `openid` (default: profile, email, offline_access; add
    /// `groups` where the directory needs it).
    #[arg(long, value_delimiter = ',')]
    pub oidc_scopes: Vec<String>,
    /// PEM file of the CA that issued the directory's certificate (a private CA).
    #[arg(long)]
    pub oidc_ca: Option<PathBuf>,
    /// How often each signed-in directory account is confirmed with a token refresh; a
    /// refused refresh ends its labguard sessions (e.g. 5m, 60s).
    #[arg(long, default_value = "5m", value_parser = crate::serve_cmd::parse_std_duration)]
    pub oidc_check_every: Duration,
}

fn read_secret(path: &Path) -> Result<Zeroizing<String>> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
    let meta = f.metadata().with_context(|| format!("reading {name}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!("{name}: the OIDC client secret file must be readable by its owner only (chmod 600)");
        }
    }
    let mut buf = Zeroizing::new(Vec::new());
    f.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("reading {name}"))?;
    if buf.len() as u64 > MAX_SECRET_FILE {
        bail!("{name}: larger than {MAX_SECRET_FILE} bytes");
    }
    let text = std::str::from_utf8(&buf).map_err(|_| anyhow::anyhow!("{name}: not UTF-8"))?;
    let s = Zeroizing::new(text.trim().to_string());
    if s.is_empty() {
        bail!("{name}: empty");
    }
    Ok(s)
}

impl OidcArgs {
    /// The configured directory, or None when `--oidc-issuer` is not given.
    pub fn build(&self) -> Result<Option<Arc<Oidc>>> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        let roles = RoleMap::parse(&self.oidc_role_map).context("--oidc-role-map")?;
        if roles.0.is_empty() {
            bail!("--oidc-issuer needs at least one --oidc-role-map rule (no rule: nobody could sign in)");
        }
        let extra_roles = self
            .oidc_mfa_roles
            .iter()
            .map(|r| Role::from_code(r).map_err(|e| anyhow::anyhow!("--oidc-mfa-roles: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let acr_values = if self.oidc_mfa_acr.is_empty() {
            DEFAULT_MFA_ACR.iter().map(|s| s.to_string()).collect()
        } else {
            self.oidc_mfa_acr.clone()
        };
        let scopes = if self.oidc_scopes.is_empty() {
            DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
        } else {
            self.oidc_scopes.clone()
        };
        let ca_pem = match &self.oidc_ca {
            Some(p) => Some(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
            None => None,
        };
        let cfg = OidcConfig {
            issuer: issuer.clone(),
            client_id: self.oidc_client_id.clone().unwrap_or_default(),
            client_secret: self
                .oidc_client_secret_file
                .as_deref()
                .map(read_secret)
                .transpose()?,
            redirect_url: self.oidc_redirect_url.clone().unwrap_or_default(),
            roles,
            mfa: MfaPolicy {
                extra_roles,
                acr_values,
            },
            scopes,
            ca_pem,
            check_every: self.oidc_check_every,
            limits: FlowLimits::default(),
        };
        Ok(Some(Arc::new(Oidc::new(cfg)?)))
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::{CommandFactory, Parser};

    /// The `[serve]` table of a config file sets every SSO flag, the role rules as a list.
    #[test]
    fn sso_settings_come_from_the_config_file() {
        let toml: toml::Table = r#"
[serve]
oidc-issuer = "https://login.lab.example/realms/lab"
oidc-client-id = "labguard"
oidc-client-secret-file = "/etc/labguard/oidc-secret"
oidc-redirect-url = "https://labguard.lab.example:8443/auth/oidc/callback"
oidc-role-map = ["groups=lab-techs -> lab-technologist", "groups=lab-admins -> administrator"]
oidc-mfa-roles = ["administrator"]
oidc-check-every = "2m"
"#
        .parse()
        .unwrap();
        let mut args: Vec<OsString> = ["labguard", "serve"].iter().map(OsString::from).collect();
        let extra =
            crate::config_file::expand(&crate::Cli::command(), &args, &toml, &|_| false).unwrap();
        args.extend(extra);
        let cli = crate::Cli::try_parse_from(args).unwrap();
        let crate::Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        let o = s.oidc;
        assert_eq!(
            o.oidc_issuer.as_deref(),
            Some("https://login.lab.example/realms/lab")
        );
        assert_eq!(o.oidc_role_map.len(), 2);
        assert_eq!(o.oidc_mfa_roles, ["administrator"]);
        assert_eq!(o.oidc_check_every, std::time::Duration::from_secs(120));
    }

    #[test]
    fn a_plain_http_issuer_off_loopback_and_missing_rules_are_refused() {
        let base = super::OidcArgs {
            oidc_issuer: Some("http://idp.lab.example".into()),
            oidc_client_id: Some("labguard".into()),
            oidc_redirect_url: Some("https://127.0.0.1:8443/auth/oidc/callback".into()),
            oidc_role_map: vec!["groups=a -> auditor".into()],
            oidc_check_every: std::time::Duration::from_secs(60),
            ..Default::default()
        };
        let e = base.build().unwrap_err();
        assert!(format!("{e:#}").contains("https"), "{e:#}");
        let mut loopback = base.clone();
        loopback.oidc_issuer = Some("http://127.0.0.1:9000".into());
        assert!(loopback.build().unwrap().is_some());
        let mut no_rules = loopback.clone();
        no_rules.oidc_role_map.clear();
        assert!(no_rules.build().is_err());
        let mut bad_redirect = loopback;
        bad_redirect.oidc_redirect_url = Some("http://127.0.0.1:8443/auth/oidc/callback".into());
        assert!(bad_redirect.build().is_err());
    }
}
