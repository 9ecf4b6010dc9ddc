//! A loaded set of policies.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use verify_core::digest::Sha256;

use crate::model::{Check, LogMode, Signer, Spec};
use crate::yaml::Walker;
use crate::TrustRoots;

/// Largest policy file read (a ConfigMap holds at most 1 MiB in all).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most files read from a policy directory.
pub const MAX_FILES: usize = 1000;

/// `spec.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny what fails.
    Enforce,
    /// Admit what fails, with a warning.
    Warn,
}

/// One `ClusterImagePolicy`, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Policy {
    /// `metadata.name` (unique in a set).
    pub name: String,
    /// `spec.mode`: `enforce` (default) or `warn`.
    pub mode: Mode,
    /// The mutation opt-out, extension field `spec.pinDigest` (default
    /// `true`): whether the mutating webhook rewrites admitted images that
    /// this policy matches to `name:tag@sha256:...`.
    pub pin_digest: bool,
    pub(crate) file: String,
    pub(crate) document: usize,
    pub(crate) hash: String,
    pub(crate) spec: Arc<Spec>,
}

impl Policy {
    /// The file it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Its document index in that file (0-based).
    pub fn document(&self) -> usize {
        self.document
    }

    /// `sha256:<hex>` of its canonical form (the document as JSON with
    /// sorted keys).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// `spec.images[].glob`, as written.
    pub fn globs(&self) -> impl Iterator<Item = &str> {
        self.spec.images.iter().map(|g| g.pattern.as_str())
    }

    /// The authorities' names (`authority-<index>` where unnamed).
    pub fn authorities(&self) -> impl Iterator<Item = &str> {
        self.spec.authorities.iter().map(|a| a.name.as_str())
    }

    /// Whether one of its globs matches `image` (see [`crate::glob`]).
    pub fn matches(&self, image: &str) -> bool {
        self.spec.images.iter().any(|g| g.matches(image))
    }

    /// The secrets its `key.secretRef` authorities read at evaluation (their
    /// content is not part of [`Self::hash`]: a server caching verdicts
    /// should fold the secrets' content into its cache key, or expire
    /// verdicts when they change).
    pub fn secret_refs(&self) -> impl Iterator<Item = &str> {
        self.spec.authorities.iter().filter_map(|a| match &a.check {
            Check::Signed(s) => match &s.signer {
                Signer::Key(crate::model::KeySource::Secret { name }) => Some(name.as_str()),
                _ => None,
            },
            Check::Static { .. } => None,
        })
    }

    /// The named trust roots it refers to (`keyless.trustRootRef`,
    /// `ctlog.trustRootRef`).
    pub fn trust_root_refs(&self) -> impl Iterator<Item = &str> {
        self.spec
            .authorities
            .iter()
            .flat_map(|a| match &a.check {
                Check::Signed(s) => {
                    let keyless = match &s.signer {
                        Signer::Keyless(k) => k.trust_root.as_deref(),
                        Signer::Key(_) => None,
                    };
                    let log = match &s.log {
                        LogMode::Online { trust_root, .. } => trust_root.as_deref(),
                        _ => None,
                    };
                    [keyless, log]
                }
                Check::Static { .. } => [None, None],
            })
            .flatten()
    }
}

/// One error found while loading policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintError {
    /// The file name.
    pub file: String,
    /// The YAML document's index in the file (0-based).
    pub document: usize,
    /// The field's path, e.g. `spec.authorities[0].keyless.ca-cert`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Every error found while loading policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// The errors, in file and document order.
    pub errors: Vec<LintError>,
}

impl std::fmt::Display for LintReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.errors {
            writeln!(f, "{}[{}]: {}: {}", e.file, e.document, e.path, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for LintReport {}

/// A loaded, validated set of policies. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PolicySet {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policies: Vec<Policy>,
    hash: String,
    /// Every glob of every policy in one automaton: an image is matched
    /// against all of them in one pass.
    globs: regex::RegexSet,
    /// The policy (index) each glob of `globs` belongs to.
    owner: Vec<usize>,
}

impl PolicySet {
    /// Every `*.yaml` / `*.yml` file in `dir` (multi-document), each
    /// document a `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`).
    /// Hidden entries (a ConfigMap volume's `..data`) are skipped; symlinks
    /// to files (how a ConfigMap volume presents its keys) are followed.
    pub fn load_dir(dir: &Path) -> Result<PolicySet, LintReport> {
        let fail = |message: String| LintReport {
            errors: vec![LintError {
                file: dir.display().to_string(),
                document: 0,
                path: String::new(),
                message,
            }],
        };
        let entries =
            std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read directory: {e}")))?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| fail(format!("cannot read directory: {e}")))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                continue;
            }
            let path = entry.path();
            if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                paths.push((name, path));
            }
        }
        if paths.len() > MAX_FILES {
            return Err(fail(format!("more than {MAX_FILES} policy files")));
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for (name, path) in paths {
            match read_bounded(&path) {
                Ok(text) => files.push((name, text)),
                Err(message) => errors.push(LintError {
                    file: name,
                    document: 0,
                    path: String::new(),
                    message,
                }),
            }
        }
        match Self::from_sources(&files) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(LintReport { errors }),
            Err(mut report) => {
                errors.append(&mut report.errors);
                Err(LintReport { errors })
            }
        }
    }

    /// Same from in-memory documents: (file name, YAML text).
    pub fn from_sources(files: &[(String, String)]) -> Result<PolicySet, LintReport> {
        let mut errors = Vec::new();
        let mut policies: Vec<Policy> = Vec::new();
        for (file, text) in files {
            if text.len() as u64 > MAX_FILE_BYTES {
                errors.push(LintError {
                    file: file.clone(),
                    document: 0,
                    path: String::new(),
                    message: format!("larger than {MAX_FILE_BYTES} bytes"),
                });
                continue;
            }
            if crate::yaml::flow_too_deep(text, crate::yaml::MAX_FLOW_DEPTH) {
                errors.push(LintError {
                    file: file.clone(),
                    document: 0,
                    path: String::new(),
                    message: format!(
                        "not valid YAML: flow collections nested deeper than {}",
                        crate::yaml::MAX_FLOW_DEPTH
                    ),
                });
                continue;
            }
            for (document, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
                let mut w = Walker::new(file, document);
                let value = match <serde_yaml_ng::Value as serde::Deserialize>::deserialize(de) {
                    Ok(v) => v,
                    Err(e) => {
                        w.error("", format!("not valid YAML: {e}"));
                        errors.append(&mut w.errors);
                        // The parser cannot resume after a syntax error.
                        break;
                    }
                };
                if value.is_null() {
                    continue; // an empty document (`---` at the end)
                }
                let parsed = crate::parse::policy(&mut w, &value);
                errors.append(&mut w.errors);
                let Some(mut policy) = parsed else { continue };
                policy.hash = canonical_hash(&value);
                if let Some(first) = policies.iter().find(|p| p.name == policy.name) {
                    errors.push(LintError {
                        file: file.clone(),
                        document,
                        path: "metadata.name".into(),
                        message: format!(
                            "duplicate policy name {:?} (first in {}[{}])",
                            policy.name, first.file, first.document
                        ),
                    });
                    continue;
                }
                policies.push(policy);
            }
        }
        if !errors.is_empty() {
            return Err(LintReport { errors });
        }
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        let mut h = Sha256::new();
        h.update(b"verify-policy set v1\n");
        for p in &policies {
            h.update(p.hash.as_bytes());
            h.update(b"\n");
        }
        let hash = format!("sha256:{}", hex::encode(h.finish()));
        let mut owner = Vec::new();
        let mut patterns = Vec::new();
        for (i, p) in policies.iter().enumerate() {
            for g in &p.spec.images {
                owner.push(i);
                patterns.push(g.regex().to_string());
            }
        }
        let globs = regex::RegexSetBuilder::new(&patterns)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| LintReport {
                errors: vec![LintError {
                    file: String::new(),
                    document: 0,
                    path: "spec.images".into(),
                    message: format!("the set's globs do not compile together: {e}"),
                }],
            })?;
        Ok(PolicySet {
            inner: Arc::new(Inner {
                policies,
                hash,
                globs,
                owner,
            }),
        })
    }

    /// `sha256:<hex>` over the canonical form of the whole set
    /// (order-independent: files and documents may be reordered, keys
    /// within a document too, comments and formatting change nothing).
    pub fn hash(&self) -> &str {
        &self.inner.hash
    }

    /// The policies, sorted by name.
    pub fn policies(&self) -> &[Policy] {
        &self.inner.policies
    }

    /// Policies whose glob matches `image` (a reference as written in a
    /// pod; see [`crate::glob`] for the normalisation and glob semantics).
    pub fn matching(&self, image: &str) -> Vec<&Policy> {
        let Some(name) = crate::glob::normalize(image) else {
            return Vec::new();
        };
        let mut hit = vec![false; self.inner.policies.len()];
        for i in self.inner.globs.matches(&name).iter() {
            hit[self.inner.owner[i]] = true;
        }
        if name != image {
            // policy-controller's fallback: the reference as written.
            for i in self.inner.globs.matches(image).iter() {
                hit[self.inner.owner[i]] = true;
            }
        }
        self.inner
            .policies
            .iter()
            .zip(hit)
            .filter_map(|(p, hit)| hit.then_some(p))
            .collect()
    }

    /// Every `trustRootRef` that names no root in `roots`, as lint errors
    /// (a server calls this after loading both, so that a typo is refused
    /// at load rather than denied at admission).
    pub fn check_trust_roots(&self, roots: &TrustRoots) -> Result<(), LintReport> {
        let errors: Vec<LintError> = self
            .policies()
            .iter()
            .flat_map(|p| {
                p.trust_root_refs()
                    .filter(|name| roots.get(name).is_none())
                    .map(|name| LintError {
                        file: p.file.clone(),
                        document: p.document,
                        path: "spec.authorities".into(),
                        message: format!("trustRootRef {name:?} names no loaded trust root"),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(LintReport { errors })
        }
    }
}

fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(text)
}

/// `sha256:<hex>` of a document as canonical JSON.
fn canonical_hash(value: &serde_yaml_ng::Value) -> String {
    // RFC 8785 canonical JSON: sorted keys whatever serde_json's features.
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let bytes = serde_json_canonicalizer::to_vec(&json).unwrap_or_default();
    format!("sha256:{}", hex::encode(verify_core::digest::sha256(bytes)))
}
