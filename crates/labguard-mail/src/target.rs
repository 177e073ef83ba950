//! Where to send: parsed from the campaign's SMTP URL.

use crate::MailError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS if the server offers it, otherwise plain (a local relay or test sink).
    Opportunistic,
    /// STARTTLS or nothing: the send fails rather than go out in the clear.
    Required,
    /// TLS from the first byte (port 465).
    Wrapper,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
}

impl SmtpTarget {
    /// `smtp://HOST[:PORT][?tls=required|opportunistic]` or `smtps://HOST[:PORT]`. No
    /// credentials in the URL: labs relay through their own server, and URLs end up in logs.
    pub fn parse(url: &str) -> Result<SmtpTarget, MailError> {
        let bad = |why: &str| MailError::BadUrl(format!("{why} (expected smtp://HOST:PORT)"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest.trim_end_matches('/'), None),
        };
        let hostport = hostport.trim_end_matches('/');
        if hostport.contains('@') || hostport.contains('/') {
            return Err(bad("credentials or a path are not allowed"));
        }
        let (mut tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (TlsMode::Opportunistic, 25),
            "smtps" => (TlsMode::Wrapper, 465),
            _ => return Err(bad("the scheme must be smtp or smtps")),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            _ => (hostport, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(bad("no host or port"));
        }
        match query {
            None | Some("") => {}
            Some("tls=required") if tls == TlsMode::Opportunistic => tls = TlsMode::Required,
            Some("tls=opportunistic") if tls == TlsMode::Opportunistic => {}
            Some(_) => return Err(bad("the only option is ?tls=required")),
        }
        Ok(SmtpTarget {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls),
            ("127.0.0.1", 2525, TlsMode::Opportunistic)
        );
        let t = SmtpTarget::parse("smtp://mail.lab.example:587?tls=required").unwrap();
        assert_eq!(t.tls, TlsMode::Required);
        assert_eq!(SmtpTarget::parse("smtps://mx.example").unwrap().port, 465);
        assert_eq!(SmtpTarget::parse("smtp://[::1]:25").unwrap().host, "::1");
        for bad in [
            "http://x:25",
            "smtp://user:pw@x:25",
            "smtp://x:notaport",
            "smtp://:25",
            "x:25",
            "smtp://x:25?tls=off",
        ] {
            assert!(SmtpTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
