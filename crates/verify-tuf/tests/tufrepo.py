#!/usr/bin/env python3
"""A real TUF repository for the tests, made with python-tuf (the reference
implementation), laid out as Sigstore's: consistent snapshots, ECDSA P-256
keys, metadata at the top level, targets under targets/ with hash prefixes.

  tufrepo.py init DIR TARGET [--ts-expires SECONDS]
  tufrepo.py publish DIR TARGET [--ts-expires SECONDS]
  tufrepo.py timestamp DIR [--ts-expires SECONDS] [--snapshot-version N]
  tufrepo.py rotate-root DIR [--only-new]
  tufrepo.py tamper-target DIR [--target NAME]
  tufrepo.py add-npm DIR KEYS [--ts-expires SECONDS]

add-npm delegates registry.npmjs.org/* to a role registry.npmjs.org with its
own key (as Sigstore's public-good repository does) and publishes KEYS as its
target registry.npmjs.org/keys.json.

DIR/keys holds the private keys, DIR/current the latest metadata of each role,
DIR/repo what a mirror serves. SECONDS may be negative (already expired).
"""

import argparse
import hashlib
import os
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

ROLES = ("root", "targets", "snapshot", "timestamp")
TARGET_NAME = "trusted_root.json"
NPM_ROLE = "registry.npmjs.org"
NPM_TARGET = "registry.npmjs.org/keys.json"
SERIALIZER = JSONSerializer(compact=False)


def expires_in(seconds):
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).replace(microsecond=0)


def new_signer(d, name):
    signer = CryptoSigner.generate_ecdsa()
    pem = signer._private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with open(os.path.join(d, "keys", name + ".pem"), "wb") as f:
        f.write(pem)
    return signer


def signer(d, name):
    with open(os.path.join(d, "keys", name + ".pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    return CryptoSigner(key)


def current(d, role):
    return Metadata.from_file(os.path.join(d, "current", role + ".json"))


def save(d, md, signers, served_name, current_name=None):
    md.signatures.clear()
    for s in signers:
        md.sign(s, append=True)
    data = md.to_bytes(SERIALIZER)
    current_name = current_name or md.signed.type
    with open(os.path.join(d, "current", current_name + ".json"), "wb") as f:
        f.write(data)
    with open(os.path.join(d, "repo", served_name), "wb") as f:
        f.write(data)
    return data


def target_path(d, name, digest):
    # Consistent snapshots: the hash prefixes the file name, not the path.
    directory, _, base = name.rpartition("/")
    return os.path.join(d, "repo", "targets", directory, f"{digest}.{base}")


def write_target(d, data, name=TARGET_NAME):
    for algo in ("sha256", "sha512"):
        path = target_path(d, name, hashlib.new(algo, data).hexdigest())
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return TargetFile.from_data(name, data, ["sha256", "sha512"])


def meta_for(data, version):
    return MetaFile(
        version=version,
        length=len(data),
        hashes={"sha256": hashlib.sha256(data).hexdigest()},
    )


def sign_snapshot_and_timestamp(d, ts_expires, targets_version, first=False, delegated=None):
    snap = Metadata(Snapshot(expires=expires_in(1))) if first else current(d, "snapshot")
    if not first:
        snap.signed.version += 1
    snap.signed.expires = expires_in(7 * 86400)
    snap.signed.meta["targets.json"] = MetaFile(version=targets_version)
    for role, version in (delegated or {}).items():
        snap.signed.meta[role + ".json"] = MetaFile(version=version)
    snap_bytes = save(d, snap, [signer(d, "snapshot")], f"{snap.signed.version}.snapshot.json")
    ts = Metadata(Timestamp(expires=expires_in(1))) if first else current(d, "timestamp")
    if not first:
        ts.signed.version += 1
    ts.signed.expires = expires_in(ts_expires)
    ts.signed.snapshot_meta = meta_for(snap_bytes, snap.signed.version)
    save(d, ts, [signer(d, "timestamp")], "timestamp.json")


def init(d, target, ts_expires):
    for sub in ("keys", "current", "repo"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    signers = {role: new_signer(d, role) for role in ROLES}
    root = Root(expires=expires_in(365 * 86400), consistent_snapshot=True)
    for role, s in signers.items():
        root.add_key(s.public_key, role)
    save(d, Metadata(root), [signers["root"]], "1.root.json")

    targets = Targets(expires=expires_in(90 * 86400))
    with open(target, "rb") as f:
        targets.targets[TARGET_NAME] = write_target(d, f.read())
    save(d, Metadata(targets), [signers["targets"]], "1.targets.json")

    sign_snapshot_and_timestamp(d, ts_expires, 1, first=True)


def publish(d, target, ts_expires):
    targets = current(d, "targets")
    targets.signed.version += 1
    with open(target, "rb") as f:
        targets.signed.targets[TARGET_NAME] = write_target(d, f.read())
    save(d, targets, [signer(d, "targets")], f"{targets.signed.version}.targets.json")
    sign_snapshot_and_timestamp(d, ts_expires, targets.signed.version)


def timestamp(d, ts_expires, snapshot_version):
    ts = current(d, "timestamp")
    ts.signed.version += 1
    ts.signed.expires = expires_in(ts_expires)
    if snapshot_version is not None:
        with open(os.path.join(d, "repo", f"{snapshot_version}.snapshot.json"), "rb") as f:
            ts.signed.snapshot_meta = meta_for(f.read(), snapshot_version)
    save(d, ts, [signer(d, "timestamp")], "timestamp.json")


def rotate_root(d, only_new):
    root = current(d, "root")
    old = signer(d, "root")
    new = new_signer(d, "root")
    root.signed.version += 1
    root.signed.revoke_key(old.public_key.keyid, "root")
    root.signed.add_key(new.public_key, "root")
    signers = [new] if only_new else [old, new]
    save(d, root, signers, f"{root.signed.version}.root.json")


def add_npm(d, keys, ts_expires):
    npm = new_signer(d, NPM_ROLE)
    targets = current(d, "targets")
    targets.signed.version += 1
    targets.signed.delegations = Delegations(
        keys={npm.public_key.keyid: npm.public_key},
        roles={
            NPM_ROLE: DelegatedRole(
                NPM_ROLE, [npm.public_key.keyid], 1, True, paths=[NPM_ROLE + "/*"]
            )
        },
    )
    save(d, targets, [signer(d, "targets")], f"{targets.signed.version}.targets.json")
    role = Targets(expires=expires_in(90 * 86400))
    with open(keys, "rb") as f:
        role.targets[NPM_TARGET] = write_target(d, f.read(), NPM_TARGET)
    save(d, Metadata(role), [npm], f"1.{NPM_ROLE}.json", current_name=NPM_ROLE)
    sign_snapshot_and_timestamp(d, ts_expires, targets.signed.version, delegated={NPM_ROLE: 1})


def tamper_target(d, name):
    targets = current(d, NPM_ROLE if name == NPM_TARGET else "targets")
    info = targets.signed.targets[name]
    for algo, digest in info.hashes.items():
        path = target_path(d, name, digest)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        # Same length, one byte changed: only the hash can tell.
        data[len(data) // 2] ^= 0x01
        with open(path, "wb") as f:
            f.write(bytes(data))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.add_argument("dir")
    p.add_argument("target", nargs="?")
    p.add_argument("--ts-expires", type=int, default=86400)
    p.add_argument("--snapshot-version", type=int)
    p.add_argument("--only-new", action="store_true")
    p.add_argument("--target", dest="target_name", default=TARGET_NAME)
    a = p.parse_args()
    if a.command == "init":
        init(a.dir, a.target, a.ts_expires)
    elif a.command == "publish":
        publish(a.dir, a.target, a.ts_expires)
    elif a.command == "timestamp":
        timestamp(a.dir, a.ts_expires, a.snapshot_version)
    elif a.command == "rotate-root":
        rotate_root(a.dir, a.only_new)
    elif a.command == "tamper-target":
        tamper_target(a.dir, a.target_name)
    elif a.command == "add-npm":
        add_npm(a.dir, a.target, a.ts_expires)
    else:
        sys.exit(f"unknown command {a.command}")


if __name__ == "__main__":
    main()
