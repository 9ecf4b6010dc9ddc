#!/usr/bin/env python3
"""Rewrite cargo-cyclonedx's CycloneDX JSON SBOM as an SPDX 2.3 JSON document.

Used by scripts/sbom.sh. cargo-cyclonedx resolves the dependency graph the
way the build does (the features given, the host target only, no
dev-dependencies) and records every crate's version, declared license,
package URL and Cargo.lock checksum, but it writes only CycloneDX; no
well-kept tool here writes SPDX from the same resolution (cargo-sbom writes
SPDX, but from all features and every platform, without checksums). So this
step maps one format to the other, field by field. It walks no dependency
graph itself: the packages are cargo-cyclonedx's components, the edges its
`dependencies` list.

One correction: `cargo metadata`, which cargo-cyclonedx reads, resolves
features for the whole workspace at once, so a feature that another member
(say the test Sigstore) turns on in a shared dependency brings in crates this
binary's build never compiles (ring and quinn, through reqwest). RESOLVED is
`cargo tree -p CRATE -e normal,build --prefix none --format "{p}"` for the
same features and target: cargo's resolution of this one package. Components
not in it are dropped, with their edges, and named on stderr.

Mapping:
- the root component (metadata.component) becomes the described package;
  every component a package: name, versionInfo, licenseDeclared (the
  crate's `license`), checksums (SHA256 from Cargo.lock), a purl external
  reference, downloadLocation (the crates.io download URL for crates.io
  crates, NOASSERTION for the workspace's own);
- supplier: the workspace's own crates are supplied by this project
  ("Organization: verify project"); a crates.io crate names no supplier
  (Cargo has no such field, and its `authors` are originators, not a
  supplier), so its supplier is NOASSERTION and its Cargo `authors`, where
  it lists any, go into `originator`. `verify sbom` reports those packages
  under the NTIA "supplier name" element: the gap is reported, not hidden;
- licenseConcluded is NOASSERTION: no one concluded anything here;
- edges: A DEPENDS_ON B, except that an edge from a crate linked into the
  binary to one cargo-cyclonedx marks build-time only (scope `excluded`:
  reached only through build scripts' dependencies) is written
  B BUILD_DEPENDENCY_OF A; those crates are kept, since they run during the
  build;
- BINARY_FILE (optional): the built binary as a file of the root package
  (SHA1 and SHA256), with the root package GENERATES it.

Deterministic: created is SOURCE_DATE_EPOCH (or the CycloneDX timestamp),
and the namespace a UUIDv5 of the content, so the same inputs give the same
bytes.

usage: cdx2spdx.py CDX.json NAME FEATURES RESOLVED OUT.spdx.json [BINARY_FILE]
"""

import hashlib
import json
import os
import re
import sys
import time
import uuid

SUPPLIER_OURS = "Organization: verify project"
CRATES_IO = "https://crates.io/api/v1/crates/{name}/{version}/download"


def spdx_id(name, version, taken):
    base = "SPDXRef-Package-" + re.sub(r"[^A-Za-z0-9.-]", "-", f"{name}-{version}")
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def license_of(component):
    exprs = []
    for entry in component.get("licenses") or []:
        if "expression" in entry:
            exprs.append(entry["expression"])
        elif "license" in entry:
            lic = entry["license"]
            if "id" in lic:
                exprs.append(lic["id"])
            elif "name" in lic:
                # A name cargo-cyclonedx could not read as SPDX: kept as a
                # LicenseRef so the declared text is not lost.
                exprs.append("LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", lic["name"]))
    if not exprs:
        return "NOASSERTION"
    if len(exprs) == 1:
        return exprs[0]
    return " AND ".join(f"({e})" for e in exprs)


def is_ours(component):
    # Workspace crates have a path source: cargo-cyclonedx's purl carries a
    # download_url relative to the workspace and its bom-ref a path+file ID.
    return component.get("bom-ref", "").startswith("path+") or "download_url=" in component.get("purl", "")


def originator(component):
    author = (component.get("author") or "").strip()
    if not author:
        return None
    names = [re.sub(r"\s*<[^>]*>", "", a).strip() for a in author.split(",")]
    names = [n for n in names if n]
    return "Person: " + ", ".join(names) if names else None


def package(component, taken):
    name = component["name"]
    version = component.get("version", "")
    ours = is_ours(component)
    p = {
        "SPDXID": spdx_id(name, version, taken),
        "name": name,
        "versionInfo": version,
        "supplier": SUPPLIER_OURS if ours else "NOASSERTION",
        "downloadLocation": "NOASSERTION" if ours else CRATES_IO.format(name=name, version=version),
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": license_of(component),
        "copyrightText": "NOASSERTION",
    }
    origin = originator(component)
    if origin and not ours:
        p["originator"] = origin
    checksums = [
        {"algorithm": "SHA256", "checksumValue": h["content"]}
        for h in component.get("hashes") or []
        if h.get("alg") == "SHA-256"
    ]
    if checksums:
        p["checksums"] = checksums
    if component.get("description"):
        p["description"] = component["description"]
    purl = component.get("purl")
    if purl:
        # The workspace crates' purls carry a download_url of the local
        # checkout; the name and version identify them.
        purl = re.sub(r"\?download_url=[^#]*", "", purl) if ours else purl
        p["externalRefs"] = [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
        ]
    if component.get("scope") == "excluded":
        p["comment"] = "Build-time only: a dependency of a build script, not linked into the binary."
    return p


def file_entry(path, root_id):
    data = open(path, "rb").read()
    return {
        "SPDXID": "SPDXRef-File-" + re.sub(r"[^A-Za-z0-9.-]", "-", os.path.basename(path)),
        "fileName": "./" + os.path.basename(path),
        "checksums": [
            {"algorithm": "SHA1", "checksumValue": hashlib.sha1(data).hexdigest()},
            {"algorithm": "SHA256", "checksumValue": hashlib.sha256(data).hexdigest()},
        ],
        "licenseConcluded": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "comment": f"The binary built from {root_id}.",
    }


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__.strip().splitlines()[-1])
    cdx_path, name, features, resolved_path, out = argv[1:6]
    binary = argv[6] if len(argv) == 7 else None
    resolved = set()
    for line in open(resolved_path):
        words = line.split()
        if len(words) >= 2 and words[1].startswith("v"):
            resolved.add((words[0], words[1][1:]))
    cdx = json.load(open(cdx_path))
    metadata = cdx.get("metadata") or {}
    root = metadata.get("component")
    if not root:
        sys.exit(f"cdx2spdx: {cdx_path} has no metadata.component")

    taken = set()
    by_ref = {}
    root_pkg = package(root, taken)
    by_ref[root["bom-ref"]] = (root_pkg, root)
    packages = [root_pkg]
    for c in sorted(cdx.get("components") or [], key=lambda c: (c["name"], c.get("version", ""), c["bom-ref"])):
        if (c["name"], c.get("version", "")) not in resolved:
            print(f"cdx2spdx: {c['name']} {c.get('version', '')}: not in this package's own resolution (workspace feature unification), dropped", file=sys.stderr)
            continue
        p = package(c, taken)
        by_ref[c["bom-ref"]] = (p, c)
        packages.append(p)

    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root_pkg["SPDXID"]}
    ]
    for dep in cdx.get("dependencies") or []:
        if dep["ref"] not in by_ref:
            continue
        source, source_c = by_ref[dep["ref"]]
        for target_ref in dep.get("dependsOn") or []:
            if target_ref not in by_ref:
                continue  # dropped above
            target, target_c = by_ref[target_ref]
            build_only = target_c.get("scope") == "excluded" and source_c.get("scope") != "excluded"
            if build_only:
                relationships.append(
                    {"spdxElementId": target["SPDXID"], "relationshipType": "BUILD_DEPENDENCY_OF", "relatedSpdxElement": source["SPDXID"]}
                )
            else:
                relationships.append(
                    {"spdxElementId": source["SPDXID"], "relationshipType": "DEPENDS_ON", "relatedSpdxElement": target["SPDXID"]}
                )
    relationships.sort(key=lambda r: (r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]))

    files = []
    if binary:
        f = file_entry(binary, root_pkg["SPDXID"])
        files.append(f)
        relationships.append(
            {"spdxElementId": root_pkg["SPDXID"], "relationshipType": "GENERATES", "relatedSpdxElement": f["SPDXID"]}
        )

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
    else:
        created = (metadata.get("timestamp") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        created = re.sub(r"\.\d+", "", created).replace("+00:00", "Z")
    tools = [
        f"Tool: {t.get('name', 'tool')}-{t.get('version', '')}"
        for t in (metadata.get("tools") if isinstance(metadata.get("tools"), list) else (metadata.get("tools") or {}).get("components", []))
    ]
    label = features if features else "default"
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{name}-{root.get('version', '')} (features: {label})",
        "documentNamespace": "",
        "creationInfo": {
            "created": created,
            "creators": tools + ["Tool: verify-scripts-cdx2spdx", SUPPLIER_OURS],
            "comment": f"The crates `cargo build --release -p {root['name']}` links into {name} with features: {label}, for the host target.",
        },
        "packages": packages,
        "files": files,
        "relationships": relationships,
    }
    body = json.dumps(doc, sort_keys=True).encode()
    doc["documentNamespace"] = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "verify-sbom:" + hashlib.sha256(body).hexdigest()))
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main(sys.argv)
