//! Reading v0.2 and v1.0 provenance: strictness, nulls, times, build
//! types, BYOB refs.

use serde_json::json;

use super::*;
use crate::slsa::builder::{
    CONTAINER_BASED_BUILDER, CONTAINER_GENERATOR, GENERIC_DELEGATOR, GENERIC_GENERATOR,
};

fn v02_statement() -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_V02,
        "subject": [{"name": "a", "digest": {"sha256": "00"}}],
        "predicate": {
            "builder": {"id": format!("{GENERIC_GENERATOR}@refs/tags/v2.1.0")},
            "buildType": GENERIC_BUILD_TYPE,
            "invocation": {
                "configSource": {"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"sha1": "abc"}, "entryPoint": "w.yml"},
                "parameters": {},
                "environment": {"github_ref_type": "branch", "github_ref": "refs/heads/main"},
            },
            "metadata": {"buildInvocationID": "1", "buildStartedOn": "2024-01-01T00:00:00Z", "completeness": {"parameters": true, "environment": false, "materials": false}, "reproducible": false},
            "materials": [{"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"sha1": "abc"}}],
        },
    })
}

fn parse(builder: &str, v: &Value) -> Result<Provenance, SlsaError> {
    Provenance::from_envelope(
        builder,
        IN_TOTO_PAYLOAD_TYPE,
        &serde_json::to_vec(v).unwrap(),
    )
}

#[test]
fn reads_v02() {
    let p = parse(GENERIC_GENERATOR, &v02_statement()).unwrap();
    assert_eq!(p.version(), SlsaVersion::V02);
    assert!(!p.byob);
    assert_eq!(
        p.builder_id(),
        format!("{GENERIC_GENERATOR}@refs/tags/v2.1.0")
    );
    assert_eq!(
        p.source_uri().unwrap(),
        "git+https://github.com/acme/app@refs/heads/main"
    );
    assert_eq!(
        p.trigger_uri().unwrap(),
        "git+https://github.com/acme/app@refs/heads/main"
    );
    assert_eq!(p.branch().unwrap(), "refs/heads/main");
    assert_eq!(p.tag().unwrap(), "");
}

#[test]
fn unknown_fields_are_rejected_at_every_typed_level() {
    let mut top = v02_statement();
    top["extra"] = json!(1);
    let mut pred = v02_statement();
    pred["predicate"]["extra"] = json!(1);
    let mut subj = v02_statement();
    subj["subject"][0]["extra"] = json!(1);
    let mut meta = v02_statement();
    meta["predicate"]["metadata"]["completeness"]["extra"] = json!(true);
    for v in [top, pred, subj, meta] {
        assert!(matches!(
            parse(GENERIC_GENERATOR, &v),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
    }
    // Free-form maps take anything.
    let mut env = v02_statement();
    env["predicate"]["invocation"]["environment"]["anything"] = json!({"x": [1]});
    env["predicate"]["buildConfig"] = json!({"steps": []});
    parse(GENERIC_GENERATOR, &env).unwrap();
}

#[test]
fn timestamps_must_be_rfc3339() {
    let mut v = v02_statement();
    v["predicate"]["metadata"]["buildStartedOn"] = json!("yesterday");
    assert!(matches!(
        parse(GENERIC_GENERATOR, &v),
        Err(SlsaError::InvalidDssePayload { .. })
    ));
}

#[test]
fn nulls_read_as_absent() {
    let mut v = v02_statement();
    v["predicate"]["metadata"] = json!(null);
    v["predicate"]["buildConfig"] = json!(null);
    v["predicate"]["invocation"]["configSource"]["digest"] = json!(null);
    parse(GENERIC_GENERATOR, &v).unwrap();
}

#[test]
fn payload_type_and_predicate_type() {
    let bytes = serde_json::to_vec(&v02_statement()).unwrap();
    assert!(matches!(
        Provenance::from_envelope(GENERIC_GENERATOR, "text/plain", &bytes),
        Err(SlsaError::InvalidDssePayload { .. })
    ));
    let mut v = v02_statement();
    v["predicateType"] = json!("https://spdx.dev/Document");
    assert!(matches!(
        parse(GENERIC_GENERATOR, &v),
        Err(SlsaError::InvalidDssePayload { .. })
    ));
    assert!(matches!(
        Provenance::from_envelope(GENERIC_GENERATOR, IN_TOTO_PAYLOAD_TYPE, b"not json"),
        Err(SlsaError::InvalidDssePayload { .. })
    ));
}

#[test]
fn build_type_table() {
    // Unknown builder for this version.
    assert!(matches!(
        parse(CONTAINER_BASED_BUILDER, &v02_statement()),
        Err(SlsaError::InvalidBuilderId { .. })
    ));
    // Known builder, wrong build type.
    assert!(matches!(
        parse(CONTAINER_GENERATOR, &v02_statement()),
        Err(SlsaError::InvalidBuildType { .. })
    ));
    // The generic generator has no v1.0 reader.
    let v1 = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": SLSA_V1,
        "subject": [{"name": "a", "digest": {"sha256": "00"}}],
        "predicate": {"buildDefinition": {"buildType": GENERIC_BUILD_TYPE, "externalParameters": {}}, "runDetails": {"builder": {"id": "x"}}},
    });
    assert!(matches!(
        parse(GENERIC_GENERATOR, &v1),
        Err(SlsaError::InvalidBuilderId { .. })
    ));
}

#[test]
fn reads_v1_container_based() {
    let v = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": SLSA_V1,
        "subject": [{"name": "a", "digest": {"sha256": "00"}}],
        "predicate": {
            "buildDefinition": {
                "buildType": CONTAINER_BASED_BUILD_TYPE,
                "externalParameters": {"source": {"uri": "git+https://github.com/acme/app@refs/tags/v1.0.0"}},
                "internalParameters": {"GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/r.yml@refs/tags/v1.0.0", "GITHUB_REF_TYPE": "tag", "GITHUB_REF": "refs/tags/v1.0.0"},
                "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/tags/v1.0.0", "digest": {"sha1": "abc"}, "content": "aGk="}],
            },
            "runDetails": {"builder": {"id": format!("{CONTAINER_BASED_BUILDER}@refs/tags/v1.9.0")}, "metadata": {"invocationId": "x", "startedOn": "2024-01-01T00:00:00Z"}},
        },
    });
    let p = parse(CONTAINER_BASED_BUILDER, &v).unwrap();
    assert_eq!(p.version(), SlsaVersion::V1);
    assert_eq!(
        p.trigger_uri().unwrap(),
        "git+https://github.com/acme/app@refs/tags/v1.0.0"
    );
    assert_eq!(p.tag().unwrap(), "refs/tags/v1.0.0");

    let mut no_ref = v.clone();
    no_ref["predicate"]["buildDefinition"]["internalParameters"] = json!({});
    let p = parse(CONTAINER_BASED_BUILDER, &no_ref).unwrap();
    assert!(matches!(p.trigger_uri(), Err(SlsaError::NotPresent { .. })));

    let mut bad_content = v;
    bad_content["predicate"]["buildDefinition"]["resolvedDependencies"][0]["content"] =
        json!("***");
    assert!(matches!(
        parse(CONTAINER_BASED_BUILDER, &bad_content),
        Err(SlsaError::InvalidDssePayload { .. })
    ));
}

#[test]
fn byob_reads_refs_from_the_source_uri() {
    let v = json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_V02,
        "subject": [{"name": "a", "digest": {"sha256": "00"}}],
        "predicate": {
            "builder": {"id": "https://github.com/acme/b/.github/workflows/b.yml@refs/tags/v1.0.0"},
            "buildType": BYOB_BUILD_TYPE,
            "invocation": {"configSource": {"uri": "git+https://github.com/acme/app@refs/tags/v3"}, "environment": {"GITHUB_REF_TYPE": "tag", "GITHUB_BASE_REF": "refs/heads/rel"}},
            "materials": [{"uri": "git+https://github.com/acme/app@refs/tags/v3"}],
        },
    });
    let p = parse(GENERIC_DELEGATOR, &v).unwrap();
    assert!(p.byob);
    assert_eq!(p.tag().unwrap(), "refs/tags/v3");
    assert_eq!(p.branch().unwrap(), "refs/heads/rel");
}

/// The fields kept only for strict parsing (never read) still carry their
/// checks: each admits its key when well typed and refuses a wrong type.
#[test]
fn unread_fields_admit_their_keys_and_check_their_types() {
    let refused = |builder: &str, v: &Value| {
        matches!(parse(builder, v), Err(SlsaError::InvalidDssePayload { .. }))
    };
    // v0.2: `_type`, `predicateType`, `configSource.digest` and
    // `materials[].digest` are in the accepted statement.
    parse(GENERIC_GENERATOR, &v02_statement()).unwrap();
    for (path, bad) in [
        (&["_type"][..], json!(1)),
        (
            &["predicate", "invocation", "configSource", "digest"],
            json!({"sha1": 1}),
        ),
        (&["predicate", "materials", "0", "digest"], json!("abc")),
    ] {
        let mut v = v02_statement();
        let mut at = &mut v;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = bad;
        assert!(refused(GENERIC_GENERATOR, &v), "{path:?}");
    }

    // v1.0: every resource descriptor field, the builder's version and
    // dependencies, and byproducts.
    let descriptor = json!({
        "uri": "git+https://github.com/acme/app@refs/tags/v1.0.0",
        "digest": {"sha1": "abc"},
        "name": "src",
        "downloadLocation": "https://example.com/src.tgz",
        "mediaType": "application/gzip",
        "content": "aGk=",
        "annotations": {"any": [1, {"x": null}]},
    });
    let v1 = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": SLSA_V1,
        "subject": [{"name": "a", "digest": {"sha256": "00"}}],
        "predicate": {
            "buildDefinition": {
                "buildType": CONTAINER_BASED_BUILD_TYPE,
                "externalParameters": {},
                "internalParameters": {},
                "resolvedDependencies": [descriptor.clone()],
            },
            "runDetails": {
                "builder": {
                    "id": format!("{CONTAINER_BASED_BUILDER}@refs/tags/v1.9.0"),
                    "version": {"generator": "v1.9.0"},
                    "builderDependencies": [descriptor.clone()],
                },
                "byproducts": [descriptor],
            },
        },
    });
    parse(CONTAINER_BASED_BUILDER, &v1).unwrap();
    let dependency = |v: &mut Value| -> Value {
        v["predicate"]["buildDefinition"]["resolvedDependencies"][0].take()
    };
    for (field, bad) in [
        ("digest", json!({"sha1": 1})),
        ("name", json!(1)),
        ("downloadLocation", json!([])),
        ("mediaType", json!({})),
        ("content", json!("not base64!")),
        ("annotations", json!([1])),
        ("unknown", json!("x")),
    ] {
        let mut v = v1.clone();
        let mut d = dependency(&mut v);
        d[field] = bad;
        v["predicate"]["buildDefinition"]["resolvedDependencies"][0] = d;
        assert!(refused(CONTAINER_BASED_BUILDER, &v), "{field}");
    }
    let builder = |v: &mut Value, field: &str, bad: Value| {
        v["predicate"]["runDetails"]["builder"][field] = bad;
    };
    for (field, bad) in [
        ("version", json!({"generator": 1})),
        ("builderDependencies", json!([{"uri": "x", "extra": 1}])),
    ] {
        let mut v = v1.clone();
        builder(&mut v, field, bad);
        assert!(refused(CONTAINER_BASED_BUILDER, &v), "{field}");
    }
    let mut v = v1.clone();
    v["predicate"]["runDetails"]["byproducts"] = json!([{"content": "***"}]);
    assert!(refused(CONTAINER_BASED_BUILDER, &v), "byproducts");
}
