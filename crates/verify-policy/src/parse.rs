//! One YAML document into a [`Policy`], or every reason it cannot be one.
//!
//! The fields read are policy-controller's `ClusterImagePolicy`
//! (`policy.sigstore.dev/v1beta1`) plus this crate's extensions
//! (`spec.pinDigest`, `authorities[].buildkit`, `attestations[].slsa`).
//! A field policy-controller defines but this crate does not implement is
//! refused with its path, never ignored; so is any other unknown field.

use std::sync::Arc;

use base64::Engine as _;
use serde_yaml_ng::{Mapping, Value};
use verify_core::cosign::predicate_type_uri;
use verify_core::slsa::ProvenanceOptions;
use verify_core::{KeyPolicy, StringMatcher};

use crate::glob::Glob;
use crate::model::{
    Attestation, Authority, Check, Identity, InIndex, KeySource, Keyless, LogMode, SignatureFormat,
    Signed, Signer, Spec,
};
use crate::set::{Mode, Policy};
use crate::yaml::{index, join, Walker};

/// The only API version read.
pub const API_VERSION: &str = "policy.sigstore.dev/v1beta1";
/// The only kind read.
pub const KIND: &str = "ClusterImagePolicy";

const CIP_POLICY: &str = "CUE/Rego policies are not evaluated; use the `slsa` extension on an attestation for provenance rules";

/// Read one document (already known not to be empty).
pub(crate) fn policy(w: &mut Walker<'_>, doc: &Value) -> Option<Policy> {
    let top = w.object(
        "",
        doc,
        &["apiVersion", "kind", "metadata", "spec", "status"],
        &[],
    )?;
    match w.required_string("", top, "apiVersion") {
        Some(v) if v == API_VERSION => {}
        Some(v) => w.error("apiVersion", format!("expected {API_VERSION}, found {v:?}")),
        None => {}
    }
    match w.required_string("", top, "kind") {
        Some(k) if k == KIND => {}
        Some(k) => w.error("kind", format!("expected {KIND}, found {k:?}")),
        None => {}
    }
    let name = match w.field(top, "metadata") {
        Some(meta) => w
            .object("metadata", meta, &["name", "labels", "annotations"], &[])
            .and_then(|m| w.required_string("metadata", m, "name")),
        None => {
            w.error("metadata", "missing required field");
            None
        }
    };
    let Some(spec) = w.field(top, "spec") else {
        w.error("spec", "missing required field");
        return None;
    };
    let spec = w.object(
        "spec",
        spec,
        &["images", "authorities", "mode", "pinDigest"],
        &[
            ("policy", CIP_POLICY),
            ("match", "resource selection is not implemented: a policy applies to every resource kind the webhook checks"),
        ],
    )?;
    let mode = match w.string("spec", spec, "mode").as_deref() {
        None | Some("enforce") => Mode::Enforce,
        Some("warn") => Mode::Warn,
        Some(other) => {
            w.error(
                "spec.mode",
                format!("expected enforce or warn, found {other:?}"),
            );
            Mode::Enforce
        }
    };
    let pin_digest = w.boolean("spec", spec, "pinDigest").unwrap_or(true);
    let images = images(w, spec);
    let authorities = authorities(w, spec);
    let name = name?;
    if !w.errors.is_empty() {
        return None;
    }
    Some(Policy {
        name,
        mode,
        pin_digest,
        file: w.file.to_string(),
        document: w.document,
        hash: String::new(),
        spec: Arc::new(Spec {
            images,
            authorities,
        }),
    })
}

fn images(w: &mut Walker<'_>, spec: &Mapping) -> Vec<Glob> {
    let items = w.list("spec", spec, "images");
    if items.is_empty()
        && !matches!(
            spec.get("images"),
            Some(Value::Sequence(_) | Value::Null) | None
        )
    {
        return Vec::new(); // type error already reported
    }
    if items.is_empty() {
        w.error("spec.images", "at least one image glob is required");
    }
    let mut globs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index("spec.images", i);
        let Some(map) = w.object(&path, item, &["glob"], &[]) else {
            continue;
        };
        if let Some(pattern) = w.required_string(&path, map, "glob") {
            match Glob::compile(&pattern) {
                Ok(glob) => globs.push(glob),
                Err(e) => w.error(&join(&path, "glob"), e),
            }
        }
    }
    globs
}

fn authorities(w: &mut Walker<'_>, spec: &Mapping) -> Vec<Authority> {
    let items = w.list("spec", spec, "authorities");
    if items.is_empty() {
        // policy-controller's default (failOnEmptyAuthorities): a policy
        // without authorities could only ever deny.
        w.error("spec.authorities", "at least one authority is required");
    }
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index("spec.authorities", i);
        if let Some(authority) = authority(w, &path, i, item) {
            if names.contains(&authority.name) {
                w.error(
                    &join(&path, "name"),
                    format!("duplicate authority name {:?}", authority.name),
                );
            }
            names.push(authority.name.clone());
            out.push(authority);
        }
    }
    out
}

fn authority(w: &mut Walker<'_>, path: &str, i: usize, item: &Value) -> Option<Authority> {
    let map = w.object(
        path,
        item,
        &[
            "name",
            "key",
            "keyless",
            "static",
            "ctlog",
            "attestations",
            "signatureFormat",
            "buildkit",
        ],
        &[
            (
                "source",
                "signatures are read from the image's own repository only",
            ),
            (
                "rfc3161timestamp",
                "RFC 3161 timestamp authorities from a TrustRoot are not selectable per authority",
            ),
        ],
    )?;
    let name = w
        .string(path, map, "name")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("authority-{i}"));
    let key = w.field(map, "key");
    let keyless = w.field(map, "keyless");
    let statik = w.field(map, "static");
    let count = [key, keyless, statik]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if count != 1 {
        let what = if count == 0 {
            "expected one of"
        } else {
            "expected only one of"
        };
        w.error(path, format!("{what} key, keyless, static"));
        return None;
    }
    if let Some(value) = statik {
        for field in ["ctlog", "attestations", "signatureFormat", "buildkit"] {
            if w.field(map, field).is_some() {
                w.error(&join(path, field), "not allowed with static");
            }
        }
        let p = join(path, "static");
        let m = w.object(&p, value, &["action", "message"], &[])?;
        let pass = match w.required_string(&p, m, "action")?.as_str() {
            "pass" => true,
            "fail" => false,
            other => {
                w.error(
                    &join(&p, "action"),
                    format!("expected pass or fail, found {other:?}"),
                );
                return None;
            }
        };
        let message = w.string(&p, m, "message");
        return Some(Authority {
            name,
            check: Check::Static { pass, message },
        });
    }

    let attestations = attestations(w, path, map);
    let all_slsa = !attestations.is_empty() && attestations.iter().all(|a| a.slsa.is_some());
    let signer = match (key, keyless) {
        (Some(v), _) => Signer::Key(key_source(w, &join(path, "key"), v)?),
        (_, Some(v)) => Signer::Keyless(keyless_ref(w, &join(path, "keyless"), v, all_slsa)?),
        _ => return None,
    };
    let format = match w.string(path, map, "signatureFormat").as_deref() {
        None | Some("legacy") => SignatureFormat::Legacy,
        Some("bundle") => {
            if matches!(signer, Signer::Key(_)) {
                w.error(
                    &join(path, "signatureFormat"),
                    "bundle is supported only on keyless authorities (as policy-controller)",
                );
            }
            SignatureFormat::Bundle
        }
        Some(other) => {
            w.error(
                &join(path, "signatureFormat"),
                format!("expected legacy or bundle, found {other:?}"),
            );
            SignatureFormat::Legacy
        }
    };
    let log = ctlog(w, path, map, &signer);
    let buildkit = buildkit(w, path, map);
    if buildkit.is_some() && !attestations.is_empty() {
        w.error(
            &join(path, "buildkit"),
            "not allowed with attestations: BuildKit's statements are vouched for by the index signature; use a separate authority",
        );
    }
    Some(Authority {
        name,
        check: Check::Signed(Box::new(Signed {
            signer,
            log,
            format,
            attestations,
            buildkit,
        })),
    })
}

fn key_source(w: &mut Walker<'_>, path: &str, value: &Value) -> Option<KeySource> {
    let m = w.object(
        path,
        value,
        &["data", "secretRef", "hashAlgorithm"],
        &[(
            "kms",
            "KMS keys are not implemented; put the public key in data or a secret",
        )],
    )?;
    match w.string(path, m, "hashAlgorithm").as_deref() {
        None | Some("sha256") => {}
        Some(other) => w.error(
            &join(path, "hashAlgorithm"),
            format!("only sha256 is supported, found {other:?}"),
        ),
    }
    let data = w.string(path, m, "data").filter(|d| !d.is_empty());
    let secret = w.field(m, "secretRef");
    match (data, secret) {
        (Some(_), Some(_)) => {
            w.error(path, "expected only one of data, secretRef");
            None
        }
        (None, None) => {
            w.error(path, "expected one of data, secretRef");
            None
        }
        (Some(pem), None) => match KeyPolicy::from_pem(&pem) {
            Ok(policy) => Some(KeySource::Inline {
                key_id: key_id(&pem).unwrap_or_default(),
                policy,
            }),
            Err(e) => {
                w.error(&join(path, "data"), format!("not a PEM public key: {e}"));
                None
            }
        },
        (None, Some(secret)) => {
            let p = join(path, "secretRef");
            let s = w.object(
                &p,
                secret,
                &["name"],
                &[(
                    "namespace",
                    "secrets are read from the webhook's mounted secrets directory, by name",
                )],
            )?;
            let name = w.required_string(&p, s, "name")?;
            if name.contains('/') || name.starts_with('.') {
                w.error(&join(&p, "name"), format!("not a secret name: {name:?}"));
                return None;
            }
            Some(KeySource::Secret { name })
        }
    }
}

/// `sha256:<hex>` of a PEM public key's DER body.
pub(crate) fn key_id(pem: &str) -> Option<String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some(format!(
        "sha256:{}",
        hex::encode(verify_core::digest::sha256(der))
    ))
}

fn keyless_ref(w: &mut Walker<'_>, path: &str, value: &Value, all_slsa: bool) -> Option<Keyless> {
    let m = w.object(
        path,
        value,
        &["identities", "trustRootRef", "insecureIgnoreSCT"],
        &[
            ("url", "the Fulcio CA comes from the trust root (public-good by default, or trustRootRef); remove url"),
            ("ca-cert", "CA certificates are given as a named trust root; use trustRootRef"),
        ],
    )?;
    let mut identities = Vec::new();
    let items = w.list(path, m, "identities");
    for (i, item) in items.iter().enumerate() {
        let p = index(&join(path, "identities"), i);
        if let Some(id) = identity(w, &p, item) {
            identities.push(id);
        }
    }
    if items.is_empty() && !all_slsa {
        w.error(
            &join(path, "identities"),
            "at least one identity is required (only attestations that all carry an slsa block may omit it)",
        );
    }
    Some(Keyless {
        identities,
        trust_root: w.string(path, m, "trustRootRef").filter(|s| !s.is_empty()),
        ignore_sct: w.boolean(path, m, "insecureIgnoreSCT").unwrap_or(false),
    })
}

fn identity(w: &mut Walker<'_>, path: &str, value: &Value) -> Option<Identity> {
    let m = w.object(
        path,
        value,
        &["issuer", "subject", "issuerRegExp", "subjectRegExp"],
        &[],
    )?;
    let issuer = matcher(w, path, m, "issuer", "issuerRegExp");
    let subject = matcher(w, path, m, "subject", "subjectRegExp");
    Some(Identity {
        issuer: issuer?,
        subject: subject?,
    })
}

/// Exactly one of `exact` / `regexp`. Both absent is refused: cosign needs
/// both an identity and an issuer, and an identity that accepts any signer
/// of an issuer is not what a policy means by naming it.
fn matcher(
    w: &mut Walker<'_>,
    path: &str,
    m: &Mapping,
    exact: &'static str,
    regexp: &'static str,
) -> Option<StringMatcher> {
    let e = w.string(path, m, exact).filter(|s| !s.is_empty());
    let r = w.string(path, m, regexp).filter(|s| !s.is_empty());
    match (e, r) {
        (Some(_), Some(_)) => {
            w.error(path, format!("expected only one of {exact}, {regexp}"));
            None
        }
        (Some(e), None) => Some(StringMatcher::exact(e)),
        (None, Some(r)) => match StringMatcher::regex(regexp, &r) {
            Ok(m) => Some(m),
            Err(e) => {
                let detail = match e {
                    verify_core::identity::PolicyError::InvalidRegex { detail, .. } => detail,
                    other => other.to_string(),
                };
                w.error(
                    &join(path, regexp),
                    format!("{r:?} is not a valid regular expression (RE2 syntax): {detail}"),
                );
                None
            }
        },
        (None, None) => {
            w.error(path, format!("expected one of {exact}, {regexp}"));
            None
        }
    }
}

fn ctlog(w: &mut Walker<'_>, path: &str, map: &Mapping, signer: &Signer) -> LogMode {
    let Some(value) = w.field(map, "ctlog") else {
        // `ctlog: null` is absent too.
        return LogMode::Default;
    };
    let p = join(path, "ctlog");
    let Some(m) = w.object(&p, value, &["url", "trustRootRef"], &[]) else {
        return LogMode::Default;
    };
    let url = w.string(&p, m, "url").filter(|s| !s.is_empty());
    let trust_root = w.string(&p, m, "trustRootRef").filter(|s| !s.is_empty());
    if let Some(u) = &url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            w.error(
                &join(&p, "url"),
                format!("expected an http(s) URL, found {u:?}"),
            );
        }
    }
    if let (Signer::Keyless(k), Some(t)) = (signer, &trust_root) {
        if k.trust_root.as_deref().unwrap_or_default() != t {
            w.error(
                &join(&p, "trustRootRef"),
                "must name the same trust root as keyless.trustRootRef (one trust root verifies the certificate and the log)",
            );
        }
    }
    if url.is_none() && trust_root.is_none() {
        LogMode::Disabled
    } else {
        LogMode::Online { url, trust_root }
    }
}

fn attestations(w: &mut Walker<'_>, path: &str, map: &Mapping) -> Vec<Attestation> {
    let base = join(path, "attestations");
    let mut out: Vec<Attestation> = Vec::new();
    for (i, item) in w.list(path, map, "attestations").iter().enumerate() {
        let p = index(&base, i);
        let Some(m) = w.object(
            &p,
            item,
            &["name", "predicateType", "slsa"],
            &[("policy", CIP_POLICY)],
        ) else {
            continue;
        };
        let name = w.required_string(&p, m, "name");
        let predicate_type =
            w.required_string(&p, m, "predicateType")
                .and_then(|t| match predicate_type_uri(&t) {
                    Ok(uri) => Some(uri),
                    Err(_) => {
                        w.error(
                            &join(&p, "predicateType"),
                            format!("unknown predicate type {t:?}: expected one of cosign's names (slsaprovenance, slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex, custom) or a URI"),
                        );
                        None
                    }
                });
        let slsa = w
            .field(m, "slsa")
            .and_then(|v| slsa(w, &join(&p, "slsa"), v));
        let had_slsa = w.field(m, "slsa").is_some();
        if let (Some(name), Some(predicate_type)) = (name, predicate_type) {
            if out.iter().any(|a| a.name == name) {
                w.error(
                    &join(&p, "name"),
                    format!("duplicate attestation name {name:?}"),
                );
            }
            if had_slsa && slsa.is_none() {
                continue;
            }
            out.push(Attestation {
                name,
                predicate_type,
                slsa,
            });
        }
    }
    out
}

/// The `slsa` extension: slsa-verifier's `verify-image` flags.
fn slsa(w: &mut Walker<'_>, path: &str, value: &Value) -> Option<ProvenanceOptions> {
    let m = w.object(
        path,
        value,
        &[
            "sourceURI",
            "sourceTag",
            "sourceVersionedTag",
            "sourceBranch",
            "builderID",
        ],
        &[],
    )?;
    let source_uri = w.required_string(path, m, "sourceURI")?;
    let options = ProvenanceOptions {
        source_uri,
        source_branch: w.string(path, m, "sourceBranch"),
        source_tag: w.string(path, m, "sourceTag"),
        source_versioned_tag: w.string(path, m, "sourceVersionedTag"),
        builder_id: w.string(path, m, "builderID"),
        workflow_inputs: Default::default(),
    };
    let refs = [
        &options.source_branch,
        &options.source_tag,
        &options.source_versioned_tag,
    ];
    if refs.iter().filter(|r| r.is_some()).count() > 1 {
        w.error(
            path,
            "expected at most one of sourceTag, sourceVersionedTag, sourceBranch",
        );
        return None;
    }
    Some(options)
}

/// The `buildkit` extension.
fn buildkit(w: &mut Walker<'_>, path: &str, map: &Mapping) -> Option<InIndex> {
    let value = w.field(map, "buildkit")?;
    let p = join(path, "buildkit");
    let m = w.object(&p, value, &["provenance", "sbom"], &[])?;
    let required = InIndex {
        provenance: w.boolean(&p, m, "provenance").unwrap_or(false),
        sbom: w.boolean(&p, m, "sbom").unwrap_or(false),
    };
    if !required.provenance && !required.sbom {
        w.error(&p, "requires nothing: set provenance and/or sbom to true");
        return None;
    }
    Some(required)
}
