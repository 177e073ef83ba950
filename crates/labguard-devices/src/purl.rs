//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`).

use std::collections::BTreeMap;
use std::fmt;

use crate::ecosystem::Ecosystem;
use crate::error::{Error, Result};

/// A parsed package URL. Components are percent-decoded; `ty` is lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// Package type, e.g. `maven`, `npm`, `pypi`, `deb`.
    pub ty: String,
    /// Namespace segments joined with `/` (Maven group, npm scope, Debian vendor).
    pub namespace: Option<String>,
    /// Package name.
    pub name: String,
    /// Version, if any.
    pub version: Option<String>,
    /// Qualifiers with lowercase keys.
    pub qualifiers: BTreeMap<String, String>,
    /// Subpath, if any.
    pub subpath: Option<String>,
}

fn decode(input: &str, part: &str) -> Result<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => out.push(b),
                None => {
                    return Err(Error::Purl {
                        input: input.to_string(),
                        reason: "bad percent-encoding",
                    })
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::Purl {
        input: input.to_string(),
        reason: "percent-encoding is not UTF-8",
    })
}

impl Purl {
    /// Parses a package URL, applying the spec's per-type name normalizations
    /// (lowercase npm/pypi/github names, `_`→`-` for PyPI).
    pub fn parse(input: &str) -> Result<Purl> {
        let err = |reason| Error::Purl {
            input: input.to_string(),
            reason,
        };
        let t = input.trim();
        let rest = match t.get(..4) {
            Some(s) if s.eq_ignore_ascii_case("pkg:") => &t[4..],
            _ => return Err(err("must start with \"pkg:\"")),
        };
        let rest = rest.trim_start_matches('/');
        let (rest, subpath) = match rest.rsplit_once('#') {
            Some((r, s)) => (r, Some(decode(input, s.trim_matches('/'))?)),
            None => (rest, None),
        };
        let (rest, qualifiers) = match rest.rsplit_once('?') {
            Some((r, q)) => {
                let mut map = BTreeMap::new();
                for pair in q.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| err("qualifier without '='"))?;
                    if !v.is_empty() {
                        map.insert(k.to_ascii_lowercase(), decode(input, v)?);
                    }
                }
                (r, map)
            }
            None => (rest, BTreeMap::new()),
        };
        let (rest, version) = match rest.rsplit_once('@') {
            // An npm scope "@scope" is percent-encoded in a valid purl, but tolerate it raw
            // when the '@' starts a path segment.
            Some((r, v)) if !r.is_empty() && !r.ends_with('/') => (r, Some(decode(input, v)?)),
            _ => (rest, None),
        };
        let (ty, path) = rest
            .split_once('/')
            .ok_or_else(|| err("missing type or name"))?;
        let ty = ty.to_ascii_lowercase();
        if ty.is_empty()
            || !ty
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+-".contains(&b))
        {
            return Err(err("bad type"));
        }
        let mut segments = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| decode(input, s))
            .collect::<Result<Vec<_>>>()?;
        let mut name = segments.pop().ok_or_else(|| err("missing name"))?;
        let mut namespace = (!segments.is_empty()).then(|| segments.join("/"));
        match ty.as_str() {
            "npm" | "pypi" | "github" | "bitbucket" | "composer" | "deb" | "apk" => {
                name = name.to_lowercase();
                namespace = namespace.map(|n| n.to_lowercase());
            }
            _ => {}
        }
        if ty == "pypi" {
            name = name.replace('_', "-");
        }
        Ok(Purl {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
            qualifiers,
            subpath: subpath.filter(|s| !s.is_empty()),
        })
    }

    /// The ecosystem this package type belongs to.
    pub fn ecosystem(&self) -> Ecosystem {
        Ecosystem::from_purl(self)
    }

    /// The package name as OSV spells it for this ecosystem (`group:artifact` for Maven,
    /// `@scope/name` for npm, `vendor/name` for Composer, the full path for Go).
    pub fn package_name(&self) -> String {
        match (self.ty.as_str(), &self.namespace) {
            ("maven", Some(ns)) => format!("{ns}:{}", self.name),
            ("npm" | "golang" | "composer" | "swift", Some(ns)) => format!("{ns}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// True when both name the same package (type, namespace, name), ignoring version,
    /// qualifiers and subpath.
    pub fn same_package(&self, other: &Purl) -> bool {
        self.ty == other.ty
            && self.namespace.as_deref().map(str::to_lowercase)
                == other.namespace.as_deref().map(str::to_lowercase)
            && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Display is for people: no re-encoding beyond what is needed to re-parse.
        let enc = |s: &str| {
            s.replace('%', "%25")
                .replace('@', "%40")
                .replace('?', "%3F")
                .replace('#', "%23")
        };
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{}/", enc(ns))?;
        }
        write!(f, "{}", enc(&self.name))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", enc(v))?;
        }
        let mut sep = '?';
        for (k, v) in &self.qualifiers {
            write!(f, "{sep}{k}={}", enc(v).replace('&', "%26"))?;
            sep = '&';
        }
        if let Some(s) = &self.subpath {
            write!(f, "#{s}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Purl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Purl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Purl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_purls() {
        let p =
            Purl::parse("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar")
                .unwrap();
        assert_eq!(p.ty, "maven");
        assert_eq!(
            p.package_name(),
            "com.fasterxml.jackson.core:jackson-databind"
        );
        assert_eq!(p.version.as_deref(), Some("2.10.0"));
        assert_eq!(p.qualifiers.get("type").map(String::as_str), Some("jar"));
        let p = Purl::parse("pkg:npm/%40angular/core@11.0.0").unwrap();
        assert_eq!(p.package_name(), "@angular/core");
        let p = Purl::parse("pkg:npm/@babel/core@7.0.0").unwrap();
        assert_eq!(p.package_name(), "@babel/core");
        assert_eq!(p.version.as_deref(), Some("7.0.0"));
        let p = Purl::parse("pkg:PyPI/Django_Rest@3.0#src/x").unwrap();
        assert_eq!((p.ty.as_str(), p.name.as_str()), ("pypi", "django-rest"));
        assert_eq!(p.subpath.as_deref(), Some("src/x"));
        let p = Purl::parse("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=bookworm")
            .unwrap();
        assert_eq!(p.version.as_deref(), Some("3.0.11-1~deb12u2"));
        assert_eq!(p.namespace.as_deref(), Some("debian"));
        let a = Purl::parse("pkg:maven/g/a@1?type=jar").unwrap();
        let b = Purl::parse("pkg:maven/g/a@2").unwrap();
        assert!(a.same_package(&b));
        assert_eq!(Purl::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn rejects_malformed_purls() {
        for bad in [
            "",
            "maven/g/a",
            "pkg:",
            "pkg:maven",
            "pkg:/name",
            "pkg:npm/a%zz",
            "pkg:npm/x?k",
            "pkg:n pm/x",
        ] {
            assert!(Purl::parse(bad).is_err(), "{bad}");
        }
    }
}
