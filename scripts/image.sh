#!/usr/bin/env bash
# Assemble the verify-admission container image as an OCI image layout,
# without a container daemon, with umoci (Debian's `umoci`).
#
#   scripts/image.sh BIN SBOM OUT [TAG]
#
# BIN   the release binary (target/release/verify-admission);
# SBOM  its SPDX JSON SBOM (scripts/sbom.sh), put into the image at
#       /usr/share/doc/verify-admission/sbom.spdx.json;
# OUT   the OCI layout directory to write (replaced);
# TAG   the layout's tag (default: latest).
#
# One layer, holding:
#   /usr/local/bin/verify-admission            the binary (Entrypoint)
#   the shared libraries `ldd BIN` shows it loads, and the dynamic loader
#   (its ELF interpreter), each copied at the path ldd prints (the binary is
#   dynamically linked against glibc: a static build would be a second
#   build with other flags, and the brief is to reuse the release build)
#   /etc/passwd, /etc/group                    nobody (65534:65534)
#   /etc/ssl/certs/ca-certificates.crt         the build host's CA bundle,
#                                              for registries over HTTPS
#   /usr/share/doc/verify-admission/sbom.spdx.json
# The config runs as 65534:65534, Entrypoint the binary. OCI media types
# (umoci writes only those).
#
# Reproducible: every file's mtime and the image's creation time are
# SOURCE_DATE_EPOCH (default: the last commit's time), umoci walks the tree
# in lexical order and writes gzip without a timestamp, and history entries
# carry that same time, so the same inputs give the same digests.
# Prints the manifest digest on stdout.
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 BIN SBOM OUT [TAG]" >&2
  exit 2
fi
BIN="$1"
SBOM="$2"
OUT="$3"
TAG="${4:-latest}"
[ -x "$BIN" ] || { echo "image.sh: $BIN is not an executable" >&2; exit 2; }
[ -f "$SBOM" ] || { echo "image.sh: $SBOM is not a file" >&2; exit 2; }
command -v umoci >/dev/null || { echo "image.sh: umoci is needed (scripts/setup.sh)" >&2; exit 2; }

cd "$(dirname "$0")/.."
EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
CREATED="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/verify-image.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"

umoci init --layout "$OUT"
umoci new --image "$OUT:$TAG"
# --rootless: the bundle's files stay the invoking user's; ownership in the
# layer is then set from the files on disk (root here, or the CI user).
umoci unpack --rootless --image "$OUT:$TAG" "$WORK/bundle" >/dev/null
ROOTFS="$WORK/bundle/rootfs"

install -D -m 0755 "$BIN" "$ROOTFS/usr/local/bin/verify-admission"

# The libraries the binary loads ("name => /path (addr)"), and its loader
# (the line ldd prints as "/path (addr)"), at the paths ldd shows.
libs="$(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)"
for lib in $libs; do
  install -D -m 0755 "$(readlink -f "$lib")" "$ROOTFS$lib"
done

mkdir -p "$ROOTFS/etc" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
fi
install -D -m 0644 "$SBOM" "$ROOTFS/usr/share/doc/verify-admission/sbom.spdx.json"

find "$ROOTFS" -exec touch -h -d "@$EPOCH" {} +
umoci repack --image "$OUT:$TAG" \
  --history.created "$CREATED" \
  --history.created_by "scripts/image.sh" \
  --history.comment "verify-admission, its shared libraries and its SBOM" \
  "$WORK/bundle" >/dev/null
umoci config --image "$OUT:$TAG" \
  --created "$CREATED" \
  --history.created "$CREATED" \
  --history.created_by "scripts/image.sh" \
  --history.comment "user 65534:65534, entrypoint verify-admission" \
  --os linux --architecture amd64 \
  --config.user 65534:65534 \
  --config.entrypoint /usr/local/bin/verify-admission \
  --config.cmd serve \
  --config.env PATH=/usr/local/bin \
  --config.workingdir / \
  --config.label org.opencontainers.image.title=verify-admission \
  --config.label "org.opencontainers.image.description=Kubernetes admission webhook that admits only images proven by ClusterImagePolicies; SBOM at /usr/share/doc/verify-admission/sbom.spdx.json" \
  >/dev/null
# umoci keeps the blobs of every intermediate step; drop the unreferenced.
umoci gc --layout "$OUT"

python3 - "$OUT" "$TAG" <<'EOF'
import json, sys
index = json.load(open(f"{sys.argv[1]}/index.json"))
for m in index["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])
        break
else:
    sys.exit(f"image.sh: tag {sys.argv[2]} not in {sys.argv[1]}/index.json")
EOF
