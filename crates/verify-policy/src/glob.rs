//! `spec.images[].glob`, with policy-controller's semantics.
//!
//! - A glob is made of `[A-Za-z0-9-_:/*.]` only (so it cannot name a
//!   digest); anything else is refused at load.
//! - `*` matches any run of characters except `/` (it *does* cross `:`, so
//!   `ghcr.io/fluxcd/*` matches `ghcr.io/fluxcd/source-controller:v1.9.4`);
//!   `**` matches any run of characters, `/` included. `.` is literal.
//! - The glob must match the whole normalised reference, which always
//!   carries a tag or a digest: `ghcr.io/fluxcd/source-controller` alone
//!   does not match `ghcr.io/fluxcd/source-controller:v1.9.4` (write
//!   `ghcr.io/fluxcd/source-controller:*` or `...:**`).
//! - References are normalised as go-containerregistry does: the default
//!   registry is `index.docker.io` (`docker.io` is the same registry),
//!   Docker Hub's official images live under `library/`, and a reference
//!   without a tag or digest gets `:latest`. A reference with both a tag and
//!   a digest is normalised to `repo@digest`.
//! - The bare globs `*` and `*/*` mean `index.docker.io/library/*` and
//!   `index.docker.io/*/*`.
//! - When the normalised reference does not match and differs from the
//!   reference as written, the reference as written is tried too
//!   (policy-controller's transitional fallback for globs written without
//!   `index.docker.io/`).

use regex::Regex;

/// Docker Hub's registry host.
pub const DEFAULT_REGISTRY: &str = "index.docker.io";

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    /// As written.
    pub pattern: String,
    regex: Regex,
}

impl Glob {
    /// Compile `pattern`, or say why it is not a valid glob.
    pub fn compile(pattern: &str) -> Result<Self, String> {
        let effective = match pattern {
            "*/*" => "index.docker.io/*/*",
            "*" => "index.docker.io/library/*",
            other => other,
        };
        if effective.is_empty()
            || !effective
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:/*.".contains(c))
        {
            return Err(format!(
                "invalid glob {pattern:?}: only letters, digits and - _ : / * . are allowed"
            ));
        }
        let mut re = String::with_capacity(effective.len() * 2 + 2);
        re.push('^');
        let mut chars = effective.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '.' => re.push_str("\\."),
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    re.push_str(".*");
                }
                '*' => re.push_str("[^/]*"),
                other => re.push(other),
            }
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|e| format!("invalid glob {pattern:?}: {e}"))?;
        Ok(Self {
            pattern: pattern.to_string(),
            regex,
        })
    }

    /// Whether `image` (a reference as written in a pod) matches.
    pub fn matches(&self, image: &str) -> bool {
        match normalize(image) {
            Some(name) => {
                self.regex.is_match(&name) || (name != image && self.regex.is_match(image))
            }
            None => false,
        }
    }

    /// The regular expression the glob compiles to (anchored).
    pub fn regex(&self) -> &str {
        self.regex.as_str()
    }
}

/// The fully qualified form of `image` (go-containerregistry's
/// `Reference.Name()` with weak validation), or `None` when it is not a
/// valid reference.
pub fn normalize(image: &str) -> Option<String> {
    if image.is_empty() || image.len() > 4096 {
        return None;
    }
    if let Some((base, digest)) = image.split_once('@') {
        if digest.contains('@') || !valid_digest(digest) {
            return None;
        }
        // `repo:tag@digest`: the tag is dropped.
        let repo = match split_tag(base) {
            Some((repo, _)) => repo,
            None => base,
        };
        return Some(format!("{}@{digest}", repository(repo)?));
    }
    let (repo, tag) = split_tag(image).unwrap_or((image, "latest"));
    Some(format!("{}:{tag}", repository(repo)?))
}

/// `repo:tag` split at a last `:` that is followed by a valid tag (no `/`).
fn split_tag(text: &str) -> Option<(&str, &str)> {
    let (repo, tag) = text.rsplit_once(':')?;
    if tag.contains('/') {
        return None; // a registry port, e.g. `localhost:5000/app`
    }
    valid_tag(tag).then_some((repo, tag))
}

fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn valid_digest(digest: &str) -> bool {
    let Some((alg, hex)) = digest.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// `registry/repository` with Docker Hub's defaults applied.
fn repository(name: &str) -> Option<String> {
    let (registry, repo) = match name.split_once('/') {
        // As go-containerregistry: the first component is a registry iff it
        // has a `.` or a `:` (so `localhost/app` is a Docker Hub repository).
        Some((host, rest)) if host.contains('.') || host.contains(':') => (host, rest),
        _ => (DEFAULT_REGISTRY, name),
    };
    let registry = if registry == "docker.io" {
        DEFAULT_REGISTRY
    } else {
        registry
    };
    let valid_repo = !repo.is_empty()
        && repo
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-/".contains(c))
        && !repo.split('/').any(str::is_empty);
    let valid_registry = !registry.is_empty()
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !valid_repo || !valid_registry {
        return None;
    }
    if registry == DEFAULT_REGISTRY && !repo.contains('/') {
        Some(format!("{registry}/library/{repo}"))
    } else {
        Some(format!("{registry}/{repo}"))
    }
}
