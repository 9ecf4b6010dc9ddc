//! Command-line flags, named as cosign's and slsa-verifier's so `verify` can
//! replace them in an existing pipeline.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "verify",
    version,
    about = "Verify that software is what it claims: Sigstore bundles, signed by the right identity and logged in Rekor",
    after_help = "Network: `blob` and `sbom --file` never contact the network. `image` and `attestation` \
read the image's registry, and ask Rekor (--rekor-url) only for a signature without log evidence of \
its own, unless --offline. `provenance`, `buildkit-provenance` and `sbom IMAGE` read the registry and \
never Rekor. `artifact` asks Rekor only for an envelope without an embedded entry, unless --offline. \
`initialize` fetches TUF metadata from its mirror, unless --offline. `flux-audit` reads registries only \
with --verify-images. `vsa`, `github-attestation` and `npm-package` never contact the network. \
`oci:PATH` images are read from disk.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Each subcommand's arguments are built only when that subcommand is used
/// (`defer`): a run builds one subcommand's ~20 arguments rather than the
/// whole tree's ~300, which was about 0.4 M instructions and 50 page faults
/// of every start. Help and errors are unchanged (clap builds what it shows).
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Verify a file (or a sha256 digest) against a Sigstore bundle.
    #[command(
        alias = "verify-bundle",
        alias = "verify-blob",
        after_help = BLOB_EXAMPLES
    )]
    Blob(BlobArgs),
    /// Verify container images' cosign signatures, as cosign verify.
    #[command(after_help = IMAGE_EXAMPLES)]
    Image(ImageArgs),
    /// Verify container images' attestations, as cosign verify-attestation.
    #[command(alias = "verify-attestation", after_help = ATTESTATION_EXAMPLES)]
    Attestation(AttestationArgs),
    /// Verify files against their SLSA provenance, as slsa-verifier verify-artifact.
    #[command(alias = "verify-artifact", after_help = ARTIFACT_EXAMPLES)]
    Artifact(ArtifactArgs),
    /// Read and validate an SPDX SBOM (2.2/2.3 JSON, or an in-toto statement carrying one).
    Sbom(SbomArgs),
    /// Verify a container image against its SLSA provenance, as slsa-verifier verify-image.
    #[command(alias = "verify-image", after_help = PROVENANCE_EXAMPLES)]
    Provenance(ProvenanceArgs),
    /// Verify and print the SLSA provenance BuildKit stored in a signed image index.
    #[command(after_help = BUILDKIT_EXAMPLES)]
    BuildkitProvenance(BuildkitProvenanceArgs),
    /// Fetch and verify Sigstore's trust root through TUF into the cache, as cosign initialize.
    #[command(after_help = INITIALIZE_EXAMPLES)]
    Initialize(InitializeArgs),
    /// Check Flux manifests against Flux's security best practices.
    #[command(after_help = crate::flux_audit::FLUX_AUDIT_EXAMPLES)]
    FluxAudit(crate::flux_audit::FluxAuditArgs),
    /// Verify a SLSA Verification Summary Attestation signed with a key, as slsa-verifier verify-vsa.
    #[command(alias = "verify-vsa")]
    Vsa(crate::vsa::VsaArgs),
    /// Verify a file against its GitHub artifact attestation, as slsa-verifier verify-github-attestation.
    #[command(alias = "verify-github-attestation")]
    GithubAttestation(crate::github_attestation::GithubAttestationArgs),
    /// Verify an npm package tarball against npm's attestations, as slsa-verifier verify-npm-package.
    #[command(alias = "verify-npm-package")]
    NpmPackage(crate::npm_package::NpmPackageArgs),
}

const BLOB_EXAMPLES: &str = "\
Examples:
  # keyless, as `cosign verify-blob --bundle`:
  verify blob --bundle artifact.sigstore.json \\
    --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0 \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \\
    artifact.tar.gz

  # any workflow of one repository (anchor the pattern yourself, as with cosign):
  verify blob --bundle artifact.sigstore.json \\
    --certificate-identity-regexp '^https://github\\.com/acme/app/\\.github/workflows/.*$' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com artifact.tar.gz

  # a digest instead of the file:
  verify blob --bundle artifact.sigstore.json --certificate-identity I --certificate-oidc-issuer O sha256:<hex>

  # key-based:
  verify blob --bundle artifact.sigstore.json --key cosign.pub artifact.tar.gz

  # a private Sigstore deployment:
  verify blob --bundle b.json --trusted-root trusted_root.json --certificate-identity I --certificate-oidc-issuer O file

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

// Who must have signed, and against which trust material. (A comment, not
// a doc comment: clap would make it the `about` of every subcommand that
// flattens this, see `Command`.)
#[derive(Args, Debug)]
pub struct SignerArgs {
    /// The certificate identity (SAN) expected, exactly.
    #[arg(long, value_name = "IDENTITY", conflicts_with_all = ["certificate_identity_regexp", "key"])]
    pub certificate_identity: Option<String>,
    /// A regular expression (RE2 syntax) searched in the certificate identity.
    /// Not implicitly anchored, as in cosign: use ^ and $ to match it whole.
    #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer expected, exactly.
    #[arg(long, value_name = "ISSUER", conflicts_with_all = ["certificate_oidc_issuer_regexp", "key"])]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression searched in the OIDC issuer (see above).
    #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// GitHub workflow trigger the certificate must carry (e.g. push).
    #[arg(long, value_name = "TRIGGER")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// GitHub workflow commit SHA the certificate must carry.
    #[arg(long, value_name = "SHA")]
    pub certificate_github_workflow_sha: Option<String>,
    /// GitHub workflow name the certificate must carry.
    #[arg(long, value_name = "NAME")]
    pub certificate_github_workflow_name: Option<String>,
    /// GitHub repository (owner/name) the certificate must carry.
    #[arg(long, value_name = "OWNER/NAME")]
    pub certificate_github_workflow_repository: Option<String>,
    /// GitHub ref the certificate must carry (e.g. refs/heads/main).
    #[arg(long, value_name = "REF")]
    pub certificate_github_workflow_ref: Option<String>,
    /// Verify with this PEM public key instead of a certificate identity.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Sigstore trusted_root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Do not require transparency-log inclusion (unsafe).
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Do not require the certificate's SCT (unsafe).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

#[derive(Args, Debug)]
pub struct BlobArgs {
    /// The Sigstore bundle (v0.1 to v0.3).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// The artifact: a file path, or `sha256:<hex>`.
    #[arg(value_name = "FILE|sha256:HEX")]
    pub artifact: String,
}

const ARTIFACT_EXAMPLES: &str = "\
Examples:
  # a Flux release artifact, built by the generic SLSA3 generator at tag v2.0.1:
  verify artifact --provenance-path provenance.intoto.jsonl \\
    --source-uri github.com/fluxcd/flux2 --source-tag v2.0.1 flux_2.0.1_sbom.spdx.json

  # any v2.x release, from main, by a given generator release:
  verify artifact --provenance-path p.intoto.jsonl --source-uri github.com/acme/app \\
    --source-versioned-tag v2 --source-branch main \\
    --builder-id https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0 \\
    app-linux-amd64

The provenance is a Sigstore bundle (what slsa-github-generator v2 writes, even to
.intoto.jsonl files), verified offline against the built-in public-good root, or a DSSE
envelope with its certificate (slsa-github-generator v1): its Rekor entry is the embedded
one, or is looked up in --rekor-url unless --offline.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

// What the SLSA provenance must say (slsa-verifier's flags). (A comment:
// see `SignerArgs`.)
#[derive(Args, Debug)]
pub struct SlsaArgs {
    /// The source repository expected, e.g. github.com/owner/repo.
    #[arg(long, value_name = "URI")]
    pub source_uri: String,
    /// The git tag the build must have run for, exactly (e.g. v1.2.3).
    #[arg(long, value_name = "TAG", conflicts_with = "source_versioned_tag")]
    pub source_tag: Option<String>,
    /// The branch the build must have run on (e.g. main).
    #[arg(long, value_name = "BRANCH")]
    pub source_branch: Option<String>,
    /// A semantic version the build's tag must match: v1 matches any v1.x.y,
    /// v1.2 any v1.2.x, v1.2.3 only v1.2.3.
    #[arg(long, value_name = "SEMVER")]
    pub source_versioned_tag: Option<String>,
    /// The builder expected, NAME or NAME@VERSION (the workflow URL; VERSION
    /// may be vX.Y.Z or refs/tags/vX.Y.Z). Default: the trusted generators.
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,
    /// A workflow_dispatch input the build must have had (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_workflow_input)]
    pub build_workflow_input: Vec<(String, String)>,
    /// Print the verified in-toto statement on stdout.
    #[arg(long)]
    pub print_provenance: bool,
}

/// `KEY=VALUE`, with exactly one `=`.
pub(crate) fn parse_workflow_input(s: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = s.split('=').collect();
    match parts.as_slice() {
        [k, v] => Ok(((*k).to_string(), (*v).to_string())),
        _ => Err(format!("expected KEY=VALUE with one '=', found {s:?}")),
    }
}

#[derive(Args, Debug)]
pub struct ArtifactArgs {
    /// The provenance: a Sigstore bundle with a DSSE in-toto statement.
    #[arg(long, value_name = "FILE")]
    pub provenance_path: PathBuf,
    #[command(flatten)]
    pub slsa: SlsaArgs,
    /// Sigstore trusted_root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// The transparency log to look a DSSE envelope without an embedded entry up in.
    #[arg(long, value_name = "URL", default_value = "https://rekor.sigstore.dev")]
    pub rekor_url: String,
    /// Never contact the transparency log: the provenance must embed its Rekor entry.
    #[arg(long)]
    pub offline: bool,
    /// Time allowed for each artifact's Rekor lookups, retries included, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// The files to verify; each must be a subject of the provenance.
    #[arg(value_name = "ARTIFACT", required = true)]
    pub artifacts: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SbomArgs {
    /// A local SPDX JSON document (or an in-toto statement with an SPDX predicate).
    #[arg(long, value_name = "FILE", required_unless_present = "image")]
    pub file: Option<PathBuf>,
    /// Or a container image whose BuildKit SBOM (in the signed index) to verify and read.
    #[arg(value_name = "IMAGE", conflicts_with = "file", requires = "platform")]
    pub image: Option<String>,
    /// With IMAGE: the platform whose SBOM to read (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", requires = "image")]
    pub platform: Option<String>,
    /// With IMAGE: who must have signed the index.
    #[command(flatten)]
    pub signer: SignerArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Fail unless the NTIA minimum elements are present (supplier, name,
    /// version, unique identifier, relationships, author, timestamp).
    #[arg(long)]
    pub require_ntia: bool,
    /// Output format (json: the full validation report).
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
}

const IMAGE_EXAMPLES: &str = "\
Examples:
  # a Flux controller, keyless, as `cosign verify`:
  verify image ghcr.io/fluxcd/source-controller:v1.5.0 \\
    --certificate-identity-regexp='^https://github\\.com/fluxcd/.*$' \\
    --certificate-oidc-issuer=https://token.actions.githubusercontent.com

  # the linux/arm64 image of a multi-arch index, which must be signed itself:
  verify image --platform linux/arm64 --require-platform-signature IMAGE --key cosign.pub

  # a local OCI layout (cosign save), offline:
  verify image oci:./saved@sha256:<hex> --key cosign.pub --offline

Tags are resolved to a digest first; every check runs on the digest, which the output
names. Signatures are read from cosign's sha256-<hex>.sig tag and from Sigstore bundles
attached as OCI referrers (or the referrers tag schema). Without a bundle annotation a
signature is looked up in the transparency log (--rekor-url), as cosign does: the only
contact with Rekor, prevented by --offline. The registry is read for every registry image
(never for oci: layouts), everything under one --timeout.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

const ATTESTATION_EXAMPLES: &str = "\
Examples:
  # SLSA provenance from the SLSA container generator, as `cosign verify-attestation`:
  verify attestation --type slsaprovenance IMAGE \\
    --certificate-identity-regexp '^https://github\\.com/slsa-framework/slsa-github-generator/' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com

--type: slsaprovenance (v0.2), slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx,
link, vuln, openvex, custom (the default), or a predicate type URI.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

// How images are checked (cosign verify's flags). (A comment: see
// `SignerArgs`.)
#[derive(Args, Debug)]
pub struct ImageCheckArgs {
    /// The transparency log to look signatures without a bundle up in.
    #[arg(long, value_name = "URL", default_value = "https://rekor.sigstore.dev")]
    pub rekor_url: String,
    /// Never contact the transparency log (the registry is still read): signatures must carry
    /// their log evidence.
    #[arg(long)]
    pub offline: bool,
    /// An annotation every signature must carry, KEY=VALUE (repeatable, or comma-separated).
    #[arg(
        short = 'a',
        long = "annotations",
        value_name = "KEY=VALUE",
        value_delimiter = ','
    )]
    pub annotations: Vec<String>,
    /// Check that the signed payload names the image's digest (and the annotations).
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub check_claims: bool,
    /// For a multi-platform index, also resolve this platform's image (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// With --platform, require the platform's image to carry its own signature too.
    #[arg(long, requires = "platform")]
    pub require_platform_signature: bool,
    /// Output format: text (cosign's text) or json (cosign's JSON: a list of payloads).
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
}

// How registries are reached. (A comment: see `SignerArgs`.)
#[derive(Args, Debug)]
pub struct RegistryArgs {
    /// User name for the registry of the images named, and only that one (else the Docker
    /// configuration, by host, else anonymous). Never sent over plain HTTP unless
    /// --allow-http-registry.
    #[arg(
        long,
        value_name = "USER",
        env = "VERIFY_REGISTRY_USERNAME",
        requires = "registry_password"
    )]
    pub registry_username: Option<String>,
    /// Password or token for the registry.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "VERIFY_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "registry_username"
    )]
    pub registry_password: Option<String>,
    /// Speak plain HTTP to every registry, and allow credentials over it (localhost and
    /// 127.0.0.1 are spoken to in plain HTTP anyway, without credentials, unless
    /// --registry-cacert is given: then HTTPS, with no fallback).
    #[arg(long)]
    pub allow_http_registry: bool,
    /// Trust this PEM CA certificate (bundle) for registries, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub registry_cacert: Vec<PathBuf>,
    /// Longest wait for one registry request, in seconds (retries come on top).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub registry_timeout: u64,
    /// Longest time for reading everything one image needs from its registry (manifests,
    /// signatures, blobs, referrers; retries included), in seconds, as cosign's --timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: u64,
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    #[command(flatten)]
    pub signer: SignerArgs,
    #[command(flatten)]
    pub check: ImageCheckArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Images: REGISTRY/REPO[:TAG][@sha256:HEX], or a local layout oci:PATH[@sha256:HEX].
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AttestationArgs {
    /// The predicate type: a cosign name (slsaprovenance, spdxjson, ...) or a URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    #[command(flatten)]
    pub signer: SignerArgs,
    #[command(flatten)]
    pub check: ImageCheckArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Images: REGISTRY/REPO[:TAG][@sha256:HEX], or a local layout oci:PATH[@sha256:HEX].
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

const PROVENANCE_EXAMPLES: &str = "\
Examples:
  # a Flux controller, built by the SLSA3 container generator at tag v1.0.0:
  verify provenance ghcr.io/fluxcd/source-controller:v1.0.0@sha256:<hex> \\
    --source-uri github.com/fluxcd/source-controller --source-tag v1.0.0

  # a local layout written by cosign save, offline:
  verify provenance oci:./saved@sha256:<hex> --source-uri github.com/acme/app --source-branch main

The image must be named by digest. Its provenance is the cosign attestation the SLSA
container generator attached (sha256-<hex>.att, or a Sigstore bundle referrer); it must
carry its Rekor evidence and is verified offline against the built-in public-good root.
The first attestation that passes every rule wins; otherwise the first one's error is
reported. BuildKit's unsigned in-index provenance is never used here: see
`verify buildkit-provenance`.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

#[derive(Args, Debug)]
pub struct ProvenanceArgs {
    #[command(flatten)]
    pub slsa: SlsaArgs,
    /// Sigstore trusted_root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// The image, by digest: REGISTRY/REPO[:TAG]@sha256:HEX, or a local layout oci:PATH@sha256:HEX.
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

const BUILDKIT_EXAMPLES: &str = "\
Examples:
  # the linux/amd64 provenance of a Flux controller, vouched for by Flux's index signature:
  verify buildkit-provenance ghcr.io/fluxcd/source-controller:v1.5.0 --platform linux/amd64 \\
    --certificate-identity-regexp '^https://github\\.com/fluxcd/.*$' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com

BuildKit's attestations are unsigned; the cosign signature on the image index covers them by
hash chain (index -> attestation manifest -> layer), which is walked digest by digest. The
signer is whoever signed the index (as the identity flags require), not a trusted SLSA
builder: this is not slsa-verifier's check (see `verify provenance`), and the output names
the path (buildkit-in-index) and the identity that vouched. `verify sbom IMAGE --platform P`
reads the SPDX SBOM the same way.

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

#[derive(Args, Debug)]
pub struct BuildkitProvenanceArgs {
    /// The platform whose provenance to read (os/arch[/variant]).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: String,
    /// Who must have signed the image index.
    #[command(flatten)]
    pub signer: SignerArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Output format (json: the facts and the statement).
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// The image index: REGISTRY/REPO[:TAG][@sha256:HEX], or a local layout oci:PATH[@sha256:HEX].
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

const INITIALIZE_EXAMPLES: &str = "\
Examples:
  # the public-good repository, from the built-in TUF root:
  verify initialize

  # a private TUF mirror and its initial root.json, into a chosen cache:
  verify initialize --mirror https://tuf.example.com --root root.json --cache-dir /var/cache/verify/tuf

  # re-verify the cache without the network:
  verify initialize --offline

Later commands use the cached, verified trust root when there is one (else the built-in one),
and --output json names it in trust_root_source. --trusted-root FILE still wins. Only this
command fetches TUF metadata; a failed refresh leaves the cache as it was.
Cache: $VERIFY_TUF_CACHE_DIR, else $XDG_CACHE_HOME/verify/tuf, else ~/.cache/verify/tuf.

Exit status: 0 initialised, 1 refresh or verification failed, 2 usage error or unreadable input.";

#[derive(Args, Debug)]
pub struct InitializeArgs {
    /// TUF mirror URL (default: Sigstore's public-good repository; with --offline, the one the cache was initialised from).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Initial TUF root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
    /// Cache directory (default: $VERIFY_TUF_CACHE_DIR, $XDG_CACHE_HOME/verify/tuf or ~/.cache/verify/tuf).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not touch the network: verify the cached trust root again.
    #[arg(long)]
    pub offline: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
}
