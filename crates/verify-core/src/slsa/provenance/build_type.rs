//! Build types: which builder (named by the certificate) produces which
//! build types, for each SLSA version.

use super::super::builder::{
    BCR_PUBLISHER, BCR_RELEASER, CONTAINER_BASED_BUILDER, CONTAINER_GENERATOR, GENERIC_DELEGATOR,
    GENERIC_GENERATOR, GO_BUILDER, LOW_PERMS_DELEGATOR, NPM_CLI_HOSTED, NPM_CLI_LEGACY,
};

/// The BYOB build type.
pub const BYOB_BUILD_TYPE: &str =
    "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0";
/// The generic generator's build type.
pub const GENERIC_BUILD_TYPE: &str =
    "https://github.com/slsa-framework/slsa-github-generator/generic@v1";
/// The container generator's build type.
pub const CONTAINER_BUILD_TYPE: &str =
    "https://github.com/slsa-framework/slsa-github-generator/container@v1";
/// The Go builder's build type.
pub const GO_BUILD_TYPE: &str = "https://github.com/slsa-framework/slsa-github-generator/go@v1";
/// The Go builder's legacy build types.
pub const GO_LEGACY_BUILD_TYPES: [&str; 2] = [
    "https://github.com/slsa-framework/slsa-github-generator@v1",
    "https://github.com/slsa-framework/slsa-github-generator-go@v1",
];
/// The container-based builder's build type.
pub const CONTAINER_BASED_BUILD_TYPE: &str = "https://slsa.dev/container-based-build/v0.1?draft";
/// GitHub's build type for `actions/attest-build-provenance`.
pub const GITHUB_ACTIONS_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";
/// npm's build type, whose materials carry no ref.
pub const NPM_CLI_BUILD_TYPE: &str = "https://github.com/npm/cli/gha@v1";
/// npm's second v0.2 build type.
pub const NPM_CLI_BUILD_TYPE_V2: &str = "https://github.com/npm/cli/gha/v2";
/// npm's v1.0 build type (GitHub Actions workflow).
pub const NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE: &str =
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1";

/// The SLSA version of a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlsaVersion {
    /// v0.2.
    V02,
    /// v1.0.
    V1,
}

/// The build types `builder` (a workflow name from the certificate)
/// produces for `version`; empty when the builder is unknown for it.
pub(crate) fn build_types(builder: &str, version: SlsaVersion) -> &'static [&'static str] {
    match (version, builder) {
        (_, GENERIC_DELEGATOR | LOW_PERMS_DELEGATOR) => &[BYOB_BUILD_TYPE],
        (SlsaVersion::V02, GO_BUILDER) => &[
            GO_BUILD_TYPE,
            GO_LEGACY_BUILD_TYPES[0],
            GO_LEGACY_BUILD_TYPES[1],
        ],
        (SlsaVersion::V02, GENERIC_GENERATOR) => &[GENERIC_BUILD_TYPE],
        (SlsaVersion::V02, CONTAINER_GENERATOR) => &[CONTAINER_BUILD_TYPE],
        (SlsaVersion::V02, NPM_CLI_LEGACY | NPM_CLI_HOSTED) => {
            &[NPM_CLI_BUILD_TYPE, NPM_CLI_BUILD_TYPE_V2]
        }
        (SlsaVersion::V1, NPM_CLI_HOSTED) => &[NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE],
        (SlsaVersion::V1, CONTAINER_BASED_BUILDER) => &[CONTAINER_BASED_BUILD_TYPE],
        (SlsaVersion::V1, BCR_RELEASER | BCR_PUBLISHER) => &[GITHUB_ACTIONS_BUILD_TYPE],
        _ => &[],
    }
}

pub(super) fn version_name(v: SlsaVersion) -> &'static str {
    match v {
        SlsaVersion::V02 => "v0.2",
        SlsaVersion::V1 => "v1.0",
    }
}
