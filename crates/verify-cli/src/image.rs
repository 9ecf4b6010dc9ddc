//! `verify image` and `verify attestation`: cosign signatures and
//! attestations of container images, in registries or local OCI layouts.
//!
//! The CLI only wires things together: it builds the policy and verifier
//! from the flags, opens each image's source (a `verify-registry` repository,
//! created only when a registry image is named, or a `verify-core` layout),
//! resolves tags to digests, and hands each digest to `verify_core::cosign`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use verify_core::bundle::{read_bounded, ReadError};
use verify_core::cosign::{
    self, predicate_type_uri, CheckOptions, ImageError, VerifiedAttestation, VerifiedSignature,
};
use verify_core::oci::{
    fetch_blob, ImageSource, Manifest, ManifestRef, OciLimits, Platform, SourceError,
};
use verify_core::oci_layout::OciLayout;
use verify_core::tlog_lookup::{LookupError, TransparencyLogLookup};
use verify_core::{ArtifactDigest, Limits, Policy, Verifier};
use verify_registry::{ImageReference, RegistryClient, RegistryConfig, RekorClient, Timeouts};

use crate::blob::{build_policy, Usage};
use crate::cli::{AttestationArgs, ImageArgs, ImageCheckArgs, RegistryArgs, SignerArgs};
use crate::image_output::{self, ImageReport};
use crate::output;

/// Largest `--registry-cacert` file read.
const MAX_CA_BYTES: usize = 1024 * 1024;

/// What is verified for each image.
enum What {
    Signatures,
    Attestations { predicate_type: String },
}

pub fn run_signatures(args: &ImageArgs) -> ExitCode {
    run(
        &args.images,
        &args.signer,
        &args.check,
        &args.registry,
        What::Signatures,
    )
}

pub fn run_attestations(args: &AttestationArgs) -> ExitCode {
    let predicate_type = match predicate_type_uri(&args.predicate_type) {
        Ok(uri) => uri,
        Err(msg) => return output::usage(args.check.output, &msg),
    };
    run(
        &args.images,
        &args.signer,
        &args.check,
        &args.registry,
        What::Attestations { predicate_type },
    )
}

fn run(
    images: &[String],
    signer: &SignerArgs,
    check: &ImageCheckArgs,
    registry: &RegistryArgs,
    what: What,
) -> ExitCode {
    let format = check.output;
    let limits = Limits::default();
    let policy = match build_policy(signer, &limits) {
        Ok(p) => p,
        Err(Usage(msg)) => return output::usage(format, &msg),
    };
    let annotations = match parse_annotations(&check.annotations) {
        Ok(a) => a,
        Err(msg) => return output::usage(format, &msg),
    };
    let platform = match check.platform.as_deref().map(Platform::parse).transpose() {
        Ok(p) => p,
        Err(e) => return output::usage(format, &e.to_string()),
    };
    let verifier = match crate::trust::load_verifier(signer.trusted_root.as_deref(), &limits) {
        Ok(v) => v,
        Err(e) => return output::failure(format, &e),
    };
    let registry = LazyRegistry::new(registry);
    let rekor = LazyRekor {
        url: check.rekor_url.clone(),
        registry: &registry,
        client: OnceLock::new(),
    };
    let options = CheckOptions {
        limits: OciLimits::default(),
        annotations,
        check_claims: check.check_claims,
        offline: check.offline,
        tlog: if check.offline { None } else { Some(&rekor) },
    };

    let progress = images.len() > 1 && std::io::stderr().is_terminal();
    let mut status = ExitCode::SUCCESS;
    for (i, image) in images.iter().enumerate() {
        if progress {
            eprintln!("[{}/{}] verifying {image}", i + 1, images.len());
        }
        let job = Job {
            verifier: &verifier,
            policy: &policy,
            options: &options,
            platform: platform.as_ref(),
            require_platform_signature: check.require_platform_signature,
            what: &what,
        };
        let outcome = open_source(image, &registry).and_then(|(source, reference)| {
            job.verify(source.as_ref(), &reference)
                .map(|report| (source.name(), report))
        });
        let code = match outcome {
            Ok((_, report)) => image_output::success(format, &report, check.check_claims),
            Err(Failure::Usage(msg)) => output::usage(format, &format!("{image}: {msg}")),
            Err(Failure::Image(e)) => image_output::failure(format, image, &e),
        };
        if code != ExitCode::SUCCESS && status == ExitCode::SUCCESS {
            status = code;
        }
    }
    status
}

/// Why one image failed.
pub(crate) enum Failure {
    /// A usage problem (exit status 2).
    Usage(String),
    /// A verification failure (exit status 1).
    Image(ImageError),
}

impl From<ImageError> for Failure {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::Source(SourceError::Invalid { detail }) => Self::Usage(detail),
            other => Self::Image(other),
        }
    }
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        ImageError::from(e).into()
    }
}

/// `KEY=VALUE` pairs.
fn parse_annotations(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("-a {pair:?}: expected KEY=VALUE")),
        })
        .collect()
}

/// The image's source and the manifest reference to resolve in it; a
/// registry source allows `--timeout` for everything read through it.
pub(crate) fn open_source(
    image: &str,
    registry: &LazyRegistry<'_>,
) -> Result<(Box<dyn ImageSource>, ManifestRef), Failure> {
    if let Some(rest) = image.strip_prefix("oci:") {
        let (path, digest) = match rest.split_once("@sha256:") {
            Some((path, hex)) => (
                path,
                Some(
                    ArtifactDigest::parse(&format!("sha256:{hex}"))
                        .map_err(|e| Failure::Usage(e.to_string()))?,
                ),
            ),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(Failure::Usage("oci: needs a layout directory".into()));
        }
        let layout = OciLayout::open(Path::new(path))?;
        let digest = match digest {
            Some(d) => d,
            None => layout.default_image()?,
        };
        return Ok((Box::new(layout), ManifestRef::Digest(digest)));
    }
    let reference = ImageReference::parse(image)?;
    let client = registry.get().map_err(Failure::Usage)?;
    // The clock for this image starts now (--timeout).
    let repository = client
        .repository(&reference)
        .with_deadline(Duration::from_secs(registry.args.timeout));
    Ok((Box::new(repository), reference.manifest_ref()))
}

/// One image's verification.
struct Job<'a> {
    verifier: &'a Verifier,
    policy: &'a Policy,
    options: &'a CheckOptions<'a>,
    platform: Option<&'a Platform>,
    require_platform_signature: bool,
    what: &'a What,
}

impl Job<'_> {
    fn verify(
        &self,
        source: &dyn ImageSource,
        reference: &ManifestRef,
    ) -> Result<ImageReport, Failure> {
        let limits = &self.options.limits;
        // A digest-pinned reference needs only the signature manifests, as
        // with cosign; a tag (or --platform) needs the image's manifest.
        if let (ManifestRef::Digest(digest), None) = (reference, self.platform) {
            let (signatures, attestations) = self.verify_digest(source, digest)?;
            return Ok(ImageReport {
                name: source.name(),
                digest: *digest,
                signatures,
                attestations,
                platform: None,
            });
        }
        let fetched = cosign::resolve(source, reference, limits)?;
        let digest = fetched.digest;
        let (signatures, attestations) = self.verify_digest(source, &digest)?;
        let mut report = ImageReport {
            name: source.name(),
            digest,
            signatures,
            attestations,
            platform: None,
        };
        let Some(platform) = self.platform else {
            return Ok(report);
        };
        let child = match &fetched.manifest {
            Manifest::Index(index) => {
                let found = index
                    .manifests
                    .iter()
                    .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)));
                let Some(found) = found else {
                    return Err(ImageError::from(SourceError::NotFound {
                        what: format!("platform {platform} in {}@{digest}", source.name()),
                    })
                    .into());
                };
                found.sha256()?
            }
            Manifest::Image(manifest) => {
                // A single-platform image: its config says which platform.
                let config = fetch_blob(source, &manifest.config, limits.max_config_bytes)?;
                let found: Platform =
                    serde_json::from_slice(&config).map_err(|e| SourceError::Malformed {
                        what: format!("config of {}@{digest}", source.name()),
                        detail: e.to_string(),
                    })?;
                if !platform.matches(&found) {
                    return Err(ImageError::from(SourceError::NotFound {
                        what: format!(
                            "platform {platform} ({}@{digest} is a single {found} image)",
                            source.name()
                        ),
                    })
                    .into());
                }
                digest
            }
        };
        let child_report = if self.require_platform_signature && child != digest {
            let (signatures, attestations) = self.verify_digest(source, &child)?;
            Some(ImageReport {
                name: source.name(),
                digest: child,
                signatures,
                attestations,
                platform: None,
            })
        } else {
            None
        };
        report.platform = Some((platform.clone(), child, child_report.map(Box::new)));
        Ok(report)
    }

    fn verify_digest(
        &self,
        source: &dyn ImageSource,
        digest: &ArtifactDigest,
    ) -> Result<(Vec<VerifiedSignature>, Vec<VerifiedAttestation>), Failure> {
        Ok(match self.what {
            What::Signatures => (
                cosign::verify_image_signatures(
                    source,
                    digest,
                    self.verifier,
                    self.policy,
                    self.options,
                )?,
                Vec::new(),
            ),
            What::Attestations { predicate_type } => (
                Vec::new(),
                cosign::verify_image_attestations(
                    source,
                    digest,
                    self.verifier,
                    self.policy,
                    self.options,
                    Some(predicate_type),
                )?,
            ),
        })
    }
}

/// The registry client, built on first use: a run over local layouts starts
/// no runtime and no TLS.
pub(crate) struct LazyRegistry<'a> {
    args: &'a RegistryArgs,
    client: OnceLock<Result<RegistryClient, String>>,
}

impl<'a> LazyRegistry<'a> {
    pub(crate) fn new(args: &'a RegistryArgs) -> Self {
        Self {
            args,
            client: OnceLock::new(),
        }
    }

    fn config(&self) -> Result<RegistryConfig, String> {
        let mut ca_certificates_pem = Vec::new();
        for path in &self.args.registry_cacert {
            let pem = read_bounded(path, MAX_CA_BYTES).map_err(|e| {
                format!(
                    "--registry-cacert {}: {}",
                    path.display(),
                    match e {
                        ReadError::Io(e) => e.to_string(),
                        ReadError::TooLarge { limit, .. } => format!("larger than {limit} bytes"),
                    }
                )
            })?;
            ca_certificates_pem.push(pem);
        }
        let request = Duration::from_secs(self.args.registry_timeout);
        Ok(RegistryConfig {
            username: self.args.registry_username.clone(),
            password: self.args.registry_password.clone(),
            allow_http: self.args.allow_http_registry,
            ca_certificates_pem,
            timeouts: Timeouts {
                connect: request.min(Duration::from_secs(10)),
                request,
                total: request * 4,
            },
            ..RegistryConfig::default()
        })
    }

    fn get(&self) -> Result<&RegistryClient, String> {
        self.client
            .get_or_init(|| {
                self.config()
                    .and_then(|c| RegistryClient::new(c).map_err(|e| e.to_string()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The Rekor client, built on first lookup, sharing the registry client's
/// connections when there is one.
struct LazyRekor<'a> {
    url: String,
    registry: &'a LazyRegistry<'a>,
    client: OnceLock<Result<RekorClient, String>>,
}

impl LazyRekor<'_> {
    fn get(&self) -> Result<&RekorClient, LookupError> {
        self.client
            .get_or_init(|| match self.registry.get() {
                Ok(client) => Ok(client.rekor(&self.url)),
                Err(e) => Err(e),
            })
            .as_ref()
            .map_err(|detail| LookupError::Unreachable {
                url: self.url.clone(),
                detail: detail.clone(),
            })
    }
}

impl TransparencyLogLookup for LazyRekor<'_> {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn search_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<String>, LookupError> {
        self.get()?.search_sha256(sha256)
    }

    fn entry(&self, uuid: &str) -> Result<Vec<u8>, LookupError> {
        self.get()?.entry(uuid)
    }
}
