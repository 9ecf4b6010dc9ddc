//! A loaded set of policies.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

/// `spec.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny what fails.
    Enforce,
    /// Admit what fails, with a warning.
    Warn,
}

/// One ClusterImagePolicy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Policy {
    /// `metadata.name`.
    pub name: String,
    /// `spec.mode`.
    pub mode: Mode,
    /// Whether the mutating webhook pins admitted images to their digest.
    pub pin_digest: bool,
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
}

impl PolicySet {
    /// Every `*.yaml` / `*.yml` in `dir` (multi-document).
    pub fn load_dir(dir: &Path) -> Result<PolicySet, LintReport> {
        let _ = dir;
        todo!()
    }

    /// Same from in-memory documents: (file name, YAML text).
    pub fn from_sources(files: &[(String, String)]) -> Result<PolicySet, LintReport> {
        let _ = files;
        todo!()
    }

    /// `sha256:<hex>` over the canonical form of the whole set (order-independent).
    pub fn hash(&self) -> &str {
        &self.inner.hash
    }

    /// The policies, sorted by name.
    pub fn policies(&self) -> &[Policy] {
        &self.inner.policies
    }

    /// Policies whose glob matches `image`.
    pub fn matching(&self, image: &str) -> Vec<&Policy> {
        let _ = image;
        todo!()
    }
}
