//! Image references: `[registry/]repository[:tag][@sha256:hex]`.
//!
//! The grammar and the Docker Hub normalisation are the distribution
//! project's (and `oci-client`'s, which the tests compare against): a first
//! path component that has no `.` or `:` and is not `localhost` is not a
//! registry, so `alpine` is `docker.io/library/alpine`, served by
//! `index.docker.io`. Parsing is done by hand rather than with
//! `oci-client`'s regular expression, whose compilation alone costs a
//! one-shot run more than the whole verification.

use verify_core::oci::{ManifestRef, SourceError};
use verify_core::ArtifactDigest;

const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "index.docker.io";
const NAME_MAX: usize = 255;

/// An image reference in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The registry as written (`docker.io` for Docker Hub).
    pub registry: String,
    /// The host serving the API (`index.docker.io` for Docker Hub).
    pub api_host: String,
    /// The repository, e.g. `library/alpine`.
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any.
    pub digest: Option<ArtifactDigest>,
}

impl ImageReference {
    /// Parse `[registry/]repository[:tag][@sha256:hex]`.
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let bad = |why: &str| SourceError::Invalid {
            detail: format!("{text:?} is not an image reference: {why}"),
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let parsed = ArtifactDigest::parse(digest)
                    .map_err(|_| bad("the digest must be sha256:<64 lowercase hex digits>"))?;
                if digest != parsed.to_string() {
                    return Err(bad("the digest must be sha256:<64 lowercase hex digits>"));
                }
                (rest, Some(parsed))
            }
            None => (text, None),
        };
        // A tag follows the last ':' after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(bad("the tag must be [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
            }
        }
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(bad("the name must have 1 to 255 characters"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first, rest)
            }
            _ => (DOCKER_HUB, name),
        };
        if !valid_domain(registry) {
            return Err(bad("the registry must be host[:port]"));
        }
        if !path.split('/').all(valid_path_component) {
            return Err(bad(
                "repository components are lowercase letters and digits, separated by '.', '_', '__' or dashes",
            ));
        }
        let registry = if registry == DOCKER_HUB_API {
            DOCKER_HUB
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        Ok(Self {
            api_host: if registry == DOCKER_HUB {
                DOCKER_HUB_API.into()
            } else {
                registry.into()
            },
            registry: registry.into(),
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The manifest to resolve: the digest if pinned, else the tag
    /// (`latest` when none).
    pub fn manifest_ref(&self) -> ManifestRef {
        match (&self.digest, &self.tag) {
            (Some(d), _) => ManifestRef::Digest(*d),
            (None, Some(t)) => ManifestRef::Tag(t.clone()),
            (None, None) => ManifestRef::Tag("latest".into()),
        }
    }

    /// `registry/repository`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl std::fmt::Display for ImageReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `[\w][\w.-]{0,127}` (ASCII word characters).
fn valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    chars.next().is_some_and(word)
        && tag.len() <= 128
        && chars.all(|c| word(c) || c == '.' || c == '-')
}

/// `host[:port]`: dot-separated `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`
/// components, or a bracketed IPv6 address.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => ("v6", Some(port)),
            None if after.is_empty() => ("v6", None),
            None => return false,
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
        return false;
    }
    host.split('.').all(|component| {
        let bytes = component.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    })
}

/// `[a-z0-9]+` runs separated by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(matches!(separator, "." | "_" | "__") || dashes) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    /// The same answers as `oci-client` (whose regular expression is the
    /// distribution project's) for valid references.
    #[test]
    fn agrees_with_oci_client() {
        let cases = [
            "alpine".to_string(),
            "alpine:3.20".into(),
            "library/alpine".into(),
            "docker.io/alpine".into(),
            "index.docker.io/fluxcd/flux-cli:v2.3.0".into(),
            "ghcr.io/fluxcd/source-controller:v1.5.0".into(),
            format!("ghcr.io/fluxcd/source-controller@{DIGEST}"),
            format!("ghcr.io/fluxcd/source-controller:v1@{DIGEST}"),
            "localhost:5000/app".into(),
            "localhost/app:tag".into(),
            "127.0.0.1:5000/a/b/c:v1.0_rc-1".into(),
            "registry.example.com/a.b/c__d/e---f".into(),
            "my-registry:443/team/app".into(),
        ];
        for case in &cases {
            let ours = ImageReference::parse(case).unwrap_or_else(|e| panic!("{case}: {e}"));
            let theirs = oci_client::Reference::try_from(case.as_str()).unwrap();
            assert_eq!(ours.registry, theirs.registry(), "{case}");
            assert_eq!(ours.api_host, theirs.resolve_registry(), "{case}");
            assert_eq!(ours.repository, theirs.repository(), "{case}");
            assert_eq!(
                ours.digest.map(|d| d.to_string()).as_deref(),
                theirs.digest(),
                "{case}"
            );
            if ours.digest.is_none() {
                assert_eq!(
                    ours.tag.as_deref().unwrap_or("latest"),
                    theirs.tag().unwrap_or("latest"),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn refuses_what_the_grammar_refuses() {
        for bad in [
            "",
            "has space",
            "UPPER",
            "a/b@sha512:00",
            "a@sha256:00",
            "a:",
            "a:-tag",
            "a/-b",
            "a/b-",
            "a//b",
            "reg:port/x",
            "a/b.-c",
            &format!("a:{}", "t".repeat(129)),
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad:?}");
        }
        let r = ImageReference::parse(&format!("127.0.0.1:5000/a/b:v1@{DIGEST}")).unwrap();
        assert_eq!(
            r.manifest_ref(),
            ManifestRef::Digest(ArtifactDigest::parse(DIGEST).unwrap())
        );
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:v1@{DIGEST}"));
    }
}
