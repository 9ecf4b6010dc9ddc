#!/usr/bin/env python3
"""Write a Syft-shaped SPDX 2.3 JSON SBOM with N packages, for bench/sbom.sh.

Shaped like `syft -o spdx-json` on a container image: a root package for the
image, N packages of mixed ecosystems (apk, deb, Go modules, npm, PyPI) with
CPE and purl references, Syft's extra fields (sourceInfo, copyrightText,
originator, filesAnalyzed), a file with SHA1 and SHA256 checksums for every
fourth package (as Syft catalogs them by default), CONTAINS relationships from the root and
from packages to their files, a DESCRIBES relationship, and a few extracted
licenses referenced as LicenseRef-. About 800 bytes of JSON per package.

Deterministic: the same N gives the same bytes.

Usage: gen_sbom.py N OUT.json
"""

import hashlib
import json
import sys

ECOSYSTEMS = [
    ("apk", "pkg:apk/alpine/{n}@{v}?arch=x86_64&distro=alpine-3.19.1", "Person: Natanael Copa <ncopa@alpinelinux.org>",
     "acquired package info from APK DB: /lib/apk/db/installed"),
    ("deb", "pkg:deb/debian/{n}@{v}?arch=amd64&distro=debian-12", "Person: Debian Maintainers <debian@lists.debian.org>",
     "acquired package info from DPKG DB: /var/lib/dpkg/status"),
    ("go-module", "pkg:golang/github.com/example/{n}@v{v}", "NOASSERTION",
     "acquired package info from go module information: /usr/local/bin/app"),
    ("npm", "pkg:npm/%40example/{n}@{v}", "NOASSERTION",
     "acquired package info from installed node module manifest file: /app/node_modules/{n}/package.json"),
    ("python", "pkg:pypi/{n}@{v}", "Organization: Example Project",
     "acquired package info from installed python package manifest file: /usr/lib/python3/site-packages/{n}.dist-info/METADATA"),
]
LICENSES = ["MIT", "Apache-2.0", "GPL-2.0-only", "BSD-3-Clause", "MIT OR Apache-2.0", "LicenseRef-custom-1",
            "ISC", "MPL-2.0 AND MIT", "GPL-2.0-or-later", "BSD"]


def h(s, n=16):
    return hashlib.sha256(s.encode()).hexdigest()[:n]


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    root_id = "SPDXRef-DocumentRoot-Image-registry.example.com-app"
    with open(out, "w") as f:
        def w(s):
            f.write(s)

        w('{\n "spdxVersion": "SPDX-2.3",\n "dataLicense": "CC0-1.0",\n "SPDXID": "SPDXRef-DOCUMENT",\n')
        w(' "name": "registry.example.com/app",\n')
        w(f' "documentNamespace": "https://anchore.com/syft/image/registry.example.com/app-{h(str(n), 32)}",\n')
        w(' "creationInfo": {\n  "licenseListVersion": "3.23",\n  "creators": [\n   "Organization: Anchore, Inc",\n'
          '   "Tool: syft-1.0.1"\n  ],\n  "created": "2024-03-14T09:41:27Z"\n },\n')
        w(' "packages": [\n')
        root = {
            "name": "registry.example.com/app", "SPDXID": root_id,
            "versionInfo": "sha256:" + h("image", 64), "supplier": "NOASSERTION",
            "downloadLocation": "NOASSERTION", "primaryPackagePurpose": "CONTAINER", "filesAnalyzed": False,
            "checksums": [{"algorithm": "SHA256", "checksumValue": h("image", 64)}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": "pkg:oci/app@sha256%3A" + h("image", 64) + "?tag=latest"}],
        }
        w("  " + json.dumps(root, separators=(",", ":")))
        ids = []
        for i in range(n):
            eco, purl, supplier, source = ECOSYSTEMS[i % len(ECOSYSTEMS)]
            name = f"lib{i}-{h(str(i), 6)}"
            version = f"{i % 7}.{i % 13}.{i % 31}"
            sid = f"SPDXRef-Package-{eco}-{name}-{h(eco + name)}"
            ids.append(sid)
            pkg = {
                "name": name, "SPDXID": sid, "versionInfo": version, "supplier": supplier, "originator": supplier,
                "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
                "sourceInfo": source.format(n=name),
                "licenseConcluded": "NOASSERTION", "licenseDeclared": LICENSES[i % len(LICENSES)],
                "copyrightText": "NOASSERTION",
                "externalRefs": [
                    {"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
                     "referenceLocator": f"cpe:2.3:a:{name}:{name}:{version}:*:*:*:*:*:*:*"},
                    {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                     "referenceLocator": purl.format(n=name, v=version)},
                ],
            }
            if eco in ("apk", "deb"):
                pkg["checksums"] = [{"algorithm": "SHA1", "checksumValue": h(sid, 40)}]
            w(",\n  " + json.dumps(pkg, separators=(",", ":")))
        w("\n ],\n")
        w(' "files": [\n')
        files = []
        for i in range(0, n, 4):
            fid = f"SPDXRef-File-usr-lib-lib{i}.so-{h('f' + str(i))}"
            files.append((ids[i], fid))
            fobj = {"fileName": f"/usr/lib/lib{i}.so.{i % 5}", "SPDXID": fid, "fileTypes": ["BINARY"],
                    "licenseConcluded": "NOASSERTION", "licenseInfoInFiles": ["NOASSERTION"], "copyrightText": ""}
            fobj["checksums"] = [{"algorithm": "SHA1", "checksumValue": h(fid, 40)},
                                 {"algorithm": "SHA256", "checksumValue": h(fid, 64)}]
            w((",\n  " if i else "  ") + json.dumps(fobj, separators=(",", ":")))
        w("\n ],\n")
        w(' "hasExtractedLicensingInfos": [\n  {"licenseId":"LicenseRef-custom-1","extractedText":"Custom terms","name":"custom"}\n ],\n')
        w(' "relationships": [\n')
        first = True
        for sid in ids:
            rel = {"spdxElementId": root_id, "relatedSpdxElement": sid, "relationshipType": "CONTAINS"}
            w(("  " if first else ",\n  ") + json.dumps(rel, separators=(",", ":")))
            first = False
        for pid, fid in files:
            rel = {"spdxElementId": pid, "relatedSpdxElement": fid, "relationshipType": "CONTAINS"}
            w(",\n  " + json.dumps(rel, separators=(",", ":")))
        w(',\n  {"spdxElementId":"SPDXRef-DOCUMENT","relatedSpdxElement":"' + root_id + '","relationshipType":"DESCRIBES"}')
        w("\n ]\n}\n")


if __name__ == "__main__":
    main()
