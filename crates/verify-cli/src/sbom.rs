//! `verify sbom --file FILE`: read and validate a local SPDX SBOM (a
//! document, or an in-toto statement carrying one).

use std::process::ExitCode;

use verify_core::sbom::{read_file, SbomLimits};

use crate::cli::SbomArgs;
use crate::output;

pub fn run(args: &SbomArgs) -> ExitCode {
    if let (Some(image), Some(platform)) = (&args.image, &args.platform) {
        // An image's SBOM is read from its registry: the only sbom form that
        // touches the network, and so the only one with a runtime.
        return crate::net(crate::in_index::run_sbom(
            image,
            platform,
            &args.signer,
            &args.registry,
            args.output,
            args.require_ntia,
        ));
    }
    let Some(path) = &args.file else {
        return output::usage(args.output, "give --file FILE (an SPDX JSON document)");
    };
    match read_file(path, &SbomLimits::default()) {
        Ok(sbom) => output::sbom_report(args.output, &sbom.validate(), args.require_ntia),
        Err(e) => output::sbom_failure(args.output, &e),
    }
}
