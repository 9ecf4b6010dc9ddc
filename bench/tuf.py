#!/usr/bin/env python3
"""What the TUF-verified cache costs a one-shot `verify blob` run.

Builds a TUF repository (python-tuf, crates/verify-tuf/tests/tufrepo.py) whose
trusted_root.json is the public-good root (the conformance copy, identical to
the built-in one), serves it on 127.0.0.1, runs `verify initialize` into a
temporary cache, then times the happy-path conformance case:

- built-in: no cache (the baseline);
- tuf-cache: the cache present, so every run re-verifies the cached TUF
  metadata and the trusted root's certificate chains before verifying.

Prints the medians and the ratio tuf-cache / built-in. Usage:
  python3 bench/tuf.py [--runs N]      (after cargo build --release -p verify-cli)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CONFORMANCE = os.path.abspath(
    os.environ.get("CONFORMANCE_DIR") or os.path.join(REPO, "..", "shared", "conformance")
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "verify"))
    a = ap.parse_args()
    case = os.path.join(CONFORMANCE, "sigstore", "cases", "happy-path-v0.3")
    target = os.path.join(CONFORMANCE, "shared", "trusted_root.production.json")
    with tempfile.TemporaryDirectory() as work:
        repo = os.path.join(work, "repo")
        subprocess.run(
            [sys.executable, os.path.join(REPO, "crates/verify-tuf/tests/tufrepo.py"), "init", repo, target],
            check=True,
        )
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", os.path.join(repo, "repo")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = server.stdout.readline()
            port = re.search(r"port (\d+)", line).group(1)
            cache = os.path.join(work, "cache")
            env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "VERIFY_TUF_CACHE_DIR")}
            env["HOME"] = work
            init = subprocess.run(
                [a.bin, "initialize", "--mirror", f"http://127.0.0.1:{port}", "--root",
                 os.path.join(repo, "repo", "1.root.json"), "--cache-dir", cache],
                env=env, capture_output=True, text=True,
            )
            if init.returncode != 0:
                sys.exit(f"verify initialize failed: {init.stderr}")
        finally:
            server.terminate()
            server.wait()
        argv = [
            a.bin, "blob", "--bundle", "bundle.sigstore.json",
            "--certificate-identity",
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
            "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
            "--output", "json", "artifact",
        ]
        results = {}
        for label, extra in (("built-in", {}), ("tuf-cache", {"VERIFY_TUF_CACHE_DIR": cache})):
            run_env = dict(env, **extra)
            out = subprocess.run(argv, cwd=case, env=run_env, capture_output=True, text=True)
            if out.returncode != 0 or f'"trust_root_source":"{label}"' not in out.stdout:
                sys.exit(f"{label}: unexpected result {out.returncode}: {out.stdout} {out.stderr}")
            times = []
            for _ in range(a.runs):
                start = time.perf_counter()
                subprocess.run(argv, cwd=case, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append((time.perf_counter() - start) * 1000)
            results[label] = statistics.median(times)
            print(f"{label:10} median {results[label]:.2f} ms over {a.runs} runs")
        print(f"ratio tuf-cache / built-in: {results['tuf-cache'] / results['built-in']:.2f}x "
              f"(+{results['tuf-cache'] - results['built-in']:.2f} ms a run)")


if __name__ == "__main__":
    main()
