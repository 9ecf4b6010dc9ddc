//! The policy set in force, and its reload when the directory changes.
//!
//! In a cluster the directory is a mounted ConfigMap: kubelet swaps a
//! `..data` symlink when the ConfigMap changes, so the directory's file
//! contents are hashed at each check (they are small) rather than trusting
//! modification times. A changed directory is loaded in full; a set that
//! does not load is refused, logged and counted, and the last good set stays
//! in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use verify_core::digest::Sha256;
use verify_policy::{LintReport, PolicySet, TrustRoots};

use crate::metrics::Metrics;

/// Largest policy file read when fingerprinting the directory.
const MAX_POLICY_FILE: u64 = 4 * 1024 * 1024;

/// The set in force.
pub struct PolicyStore {
    dir: PathBuf,
    trust: Arc<TrustRoots>,
    current: RwLock<Arc<PolicySet>>,
    fingerprint: RwLock<String>,
}

impl PolicyStore {
    /// Load `dir`; the first set must load, and every `trustRootRef` in
    /// it must name one of `trust`.
    pub fn load(dir: &Path, trust: Arc<TrustRoots>) -> Result<Self, LintReport> {
        let set = load_checked(dir, &trust)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            trust,
            current: RwLock::new(Arc::new(set)),
            fingerprint: RwLock::new(fingerprint(dir)),
        })
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<PolicySet> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The directory watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reload when the directory's contents changed. Blocking (file reads):
    /// call from a blocking thread.
    pub fn check(&self, metrics: &Metrics) {
        let now = fingerprint(&self.dir);
        if *self.fingerprint.read().unwrap_or_else(|p| p.into_inner()) == now {
            return;
        }
        *self.fingerprint.write().unwrap_or_else(|p| p.into_inner()) = now;
        match load_checked(&self.dir, &self.trust) {
            Ok(set) => {
                let old = self.current().hash().to_string();
                let new = set.hash().to_string();
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
                metrics.policy_reloaded(true);
                metrics.set_policy_hash(&old, &new);
                tracing::info!(event = "policy-reload", result = "success", old_hash = %old, policy_hash = %new, "policies reloaded");
            }
            Err(report) => {
                metrics.policy_reloaded(false);
                let errors: Vec<String> = report.to_string().lines().map(str::to_string).collect();
                tracing::error!(
                    event = "policy-reload",
                    result = "refused",
                    policy_hash = %self.current().hash(),
                    errors = ?errors,
                    "the new policy set is invalid; the last good set stays in force"
                );
            }
        }
    }

    /// Check every `interval`, forever (spawned by `serve`).
    pub async fn watch(self: Arc<Self>, metrics: Arc<Metrics>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (store, metrics) = (Arc::clone(&self), Arc::clone(&metrics));
            let _ = tokio::task::spawn_blocking(move || store.check(&metrics)).await;
        }
    }
}

fn load_checked(dir: &Path, trust: &TrustRoots) -> Result<PolicySet, LintReport> {
    let set = PolicySet::load_dir(dir)?;
    set.check_trust_roots(trust)?;
    Ok(set)
}

/// A hash of the names and contents of the policy files in `dir` (what
/// `load_dir` reads), following symlinks.
fn fingerprint(dir: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut names: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect(),
        Err(e) => return format!("unreadable: {e}"),
    };
    names.sort();
    for path in names {
        hasher.update(path.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() <= MAX_POLICY_FILE => match std::fs::read(&path) {
                Ok(bytes) => hasher.update(&bytes),
                Err(e) => hasher.update(e.to_string()),
            },
            Ok(m) => hasher.update(format!("large {}", m.len())),
            Err(e) => hasher.update(e.to_string()),
        }
        hasher.update([0]);
    }
    hex::encode(hasher.finish())
}
