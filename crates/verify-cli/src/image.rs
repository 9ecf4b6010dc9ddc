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
    self, predicate_type_uri, CheckOptions, Evidence, ImageError, ImageRequest, ImageVerdict,
};
use verify_core::oci::{ImageSource, ManifestRef, OciLimits, Platform, SourceError};
use verify_core::oci_layout::OciLayout;
use verify_core::tlog_lookup::TransparencyLogLookup;
use verify_core::{ArtifactDigest, Limits};
use verify_registry::{
    Budget, Credential, Credentials, ImageReference, RegistryClient, RegistryConfig, Timeouts,
};

use crate::blob::{build_policy, Usage};
use crate::cli::{AttestationArgs, ImageArgs, ImageCheckArgs, RegistryArgs, SignerArgs};
use crate::image_output::{self, ImageReport};
use crate::output;

/// Largest `--registry-cacert` file read.
const MAX_CA_BYTES: usize = 1024 * 1024;

pub async fn run_signatures(args: &ImageArgs) -> ExitCode {
    run(
        &args.images,
        &args.signer,
        &args.check,
        &args.registry,
        Evidence::Signatures,
    )
    .await
}

pub async fn run_attestations(args: &AttestationArgs) -> ExitCode {
    let predicate_type = match predicate_type_uri(&args.predicate_type) {
        Ok(uri) => uri,
        Err(msg) => return output::usage(args.check.output, &msg),
    };
    run(
        &args.images,
        &args.signer,
        &args.check,
        &args.registry,
        Evidence::Attestations {
            predicate_type: Some(predicate_type),
        },
    )
    .await
}

async fn run(
    images: &[String],
    signer: &SignerArgs,
    check: &ImageCheckArgs,
    registry: &RegistryArgs,
    evidence: Evidence,
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
    let registry = match LazyRegistry::new(registry, images) {
        Ok(r) => r,
        Err(msg) => return output::usage(format, &msg),
    };
    let verifier = match crate::trust::load_verifier(signer.trusted_root.as_deref(), &limits) {
        Ok(v) => v,
        Err(e) => return output::failure(format, &e),
    };

    let progress = images.len() > 1 && std::io::stderr().is_terminal();
    let mut status = ExitCode::SUCCESS;
    for (i, image) in images.iter().enumerate() {
        if progress {
            eprintln!("[{}/{}] verifying {image}", i + 1, images.len());
        }
        // One deadline and one byte budget for everything this image reads,
        // registry and log alike (--timeout).
        let budget = registry.budget();
        let rekor = match check.offline {
            true => None,
            false => match registry.get() {
                Ok(client) => Some(client.rekor(&check.rekor_url).with_budget(&budget)),
                Err(msg) => return output::usage(format, &msg),
            },
        };
        let options = CheckOptions {
            limits: OciLimits::default(),
            annotations: annotations.clone(),
            insecure_skip_claims: !check.check_claims,
            offline: check.offline,
            tlog: rekor.as_ref().map(|r| r as &dyn TransparencyLogLookup),
        };
        let outcome = async {
            let (source, reference) = open_source(image, &registry, &budget)?;
            let request = ImageRequest {
                reference,
                evidence: evidence.clone(),
                platform: platform.clone(),
                require_platform_signature: check.require_platform_signature,
            };
            let check = cosign::Check {
                verifier: &verifier,
                source: source.as_ref(),
                policy: &policy,
                options: &options,
            };
            let verdict = cosign::verify_image(&check, &request).await?;
            Ok::<_, Failure>(report(verdict))
        }
        .await;
        let code = match outcome {
            Ok(report) => image_output::success(format, &report, check.check_claims),
            Err(Failure::Usage(msg)) => output::usage(format, &format!("{image}: {msg}")),
            Err(Failure::Image(e)) => image_output::failure(format, image, &e),
        };
        if code != ExitCode::SUCCESS && status == ExitCode::SUCCESS {
            status = code;
        }
    }
    status
}

/// The core's verdict in the shape the output prints.
fn report(v: ImageVerdict) -> ImageReport {
    ImageReport {
        name: v.name,
        digest: v.digest,
        signatures: v.signatures,
        attestations: v.attestations,
        platform: v.platform.map(|p| {
            (
                p.platform,
                p.digest,
                p.verdict.map(|c| Box::new(report(*c))),
            )
        }),
    }
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
/// registry source reads under `budget` (`--timeout`, and the byte budget).
pub(crate) fn open_source(
    image: &str,
    registry: &LazyRegistry<'_>,
    budget: &Budget,
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
    let repository = client.repository(&reference).with_budget(budget);
    Ok((Box::new(repository), reference.manifest_ref()))
}

/// The registry client, built on first use: a run over local layouts
/// builds no TLS configuration.
pub(crate) struct LazyRegistry<'a> {
    args: &'a RegistryArgs,
    /// The registry `--registry-username/--registry-password` are for.
    flag_host: Option<String>,
    client: OnceLock<Result<RegistryClient, String>>,
}

/// The byte budget for one image (every manifest, blob, referrers list,
/// token and log answer it reads).
pub(crate) const IMAGE_BYTE_BUDGET: u64 = 256 * 1024 * 1024;

impl<'a> LazyRegistry<'a> {
    /// The client for `args`, for the `images` named on the command line:
    /// the credential flags are for their registry only, and naming images
    /// on several registries with them is a usage error.
    pub(crate) fn new(args: &'a RegistryArgs, images: &[String]) -> Result<Self, String> {
        let mut flag_host = None;
        if args.registry_username.is_some() {
            let mut hosts: Vec<String> = images
                .iter()
                .filter(|i| !i.starts_with("oci:"))
                .filter_map(|i| ImageReference::parse(i).ok())
                .map(|r| r.api_host)
                .collect();
            hosts.sort();
            hosts.dedup();
            match hosts.as_slice() {
                [] => {}
                [host] => flag_host = Some(host.clone()),
                several => {
                    return Err(format!(
                        "--registry-username/--registry-password would be sent to {} registries ({}); a password is for one registry: name images of one registry, or put each registry's credentials in a Docker configuration (docker login, $DOCKER_CONFIG/config.json)",
                        several.len(),
                        several.join(", ")
                    ))
                }
            }
        }
        Ok(Self {
            args,
            flag_host,
            client: OnceLock::new(),
        })
    }

    /// A fresh budget for one image: `--timeout` from now, and
    /// [`IMAGE_BYTE_BUDGET`].
    pub(crate) fn budget(&self) -> Budget {
        Budget::new(Duration::from_secs(self.args.timeout), IMAGE_BYTE_BUDGET)
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
        let mut credentials = Credentials::new();
        if let (Some(host), Some(username), Some(password)) = (
            &self.flag_host,
            &self.args.registry_username,
            &self.args.registry_password,
        ) {
            credentials.insert(
                host,
                Credential::Basic {
                    username: username.clone(),
                    password: password.clone(),
                },
            );
        }
        Ok(RegistryConfig {
            credentials,
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

    pub(crate) fn get(&self) -> Result<&RegistryClient, String> {
        self.client
            .get_or_init(|| {
                self.config()
                    .and_then(|c| RegistryClient::new(c).map_err(|e| e.to_string()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}
