#!/usr/bin/env python3
"""What one `verify` process costs, beside sigstore-rust's conformance client, case by case.

bench/cli.sh times whole runner rounds; this looks at each Sigstore conformance case (path
mode) and runs the two verifiers *interleaved* (ours, peer, ours, peer, ...), so that load
from other processes falls on both alike. Per process it records the wall time and, from the
kernel's accounting of the child (`os.wait4`), its minor page faults (the CPU-time split is
left out: for a process this short the kernel's tick-sampled user/system times are mostly 0);
with `--instructions`, one more run of each under `valgrind --tool=callgrind` gives
the instructions executed, which do not depend on load at all.

    bench/cli_cost.py                         # 10 interleaved runs per case
    bench/cli_cost.py --runs 30 --instructions --case happy-path-v0.3 --case rekor2-happy-path

Needs target/release/verify (or VERIFY_BIN) and the peer from bench/setup-sigstore-rust.sh
(or SIGSTORE_RUST_CONFORMANCE). Prints one line per case and a summary; ratios are
peer / ours (above 1: the peer takes longer).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def run_once(argv, cwd):
    """Wall seconds and minor page faults of one process."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=null, stderr=null)
        _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped above; keep Popen from waiting again
    return wall, usage.ru_minflt


def instructions(argv, cwd):
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv,
        cwd=cwd, capture_output=True, text=True,
    ).stderr
    for line in out.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip().replace(",", ""))
    return None


def main():
    conf = os.environ.get("CONFORMANCE_DIR") or os.path.join(REPO, "..", "shared", "conformance")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="interleaved runs per case and verifier")
    p.add_argument("--case", action="append", help="only these cases (repeatable)")
    p.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    args = p.parse_args()

    ours = os.path.abspath(os.environ.get("VERIFY_BIN") or os.path.join(REPO, "target/release/verify"))
    peer = os.path.abspath(os.environ.get("SIGSTORE_RUST_CONFORMANCE")
                           or "/tmp/sigstore-rust-conformance/target/release/conformance")
    for path, hint in ((ours, "cargo build --release -p verify-cli"),
                       (peer, "bench/setup-sigstore-rust.sh")):
        if not os.access(path, os.X_OK):
            sys.exit(f"cli_cost.py: {path} not found ({hint})")
    cases_dir = os.path.join(conf, "sigstore", "cases")
    names = args.case or sorted(os.listdir(cases_dir))

    total = {"ours": [], "peer": []}
    print(f"{'case':58} {'ours ms':>8} {'peer ms':>8} {'ratio':>6} {'faults o/p':>11}"
          + ("  instructions o/p (M)" if args.instructions else ""))
    for name in names:
        cwd = os.path.join(cases_dir, name)
        case = json.load(open(os.path.join(cwd, "case.json")))
        argv = case["protocol_argv_path"]
        samples = {"ours": [], "peer": []}
        for _ in range(args.runs):
            for key, binary in (("ours", ours), ("peer", peer)):
                samples[key].append(run_once([binary] + argv, cwd))
        row = {}
        for key in samples:
            wall = statistics.median(s[0] for s in samples[key]) * 1e3
            faults = statistics.median(s[1] for s in samples[key])
            row[key] = (wall, faults)
        if args.instructions:
            for key, binary in (("ours", ours), ("peer", peer)):
                row[key] += (instructions([binary] + argv, cwd),)
        for key in row:
            total[key].append(row[key])
        line = (f"{name:58} {row['ours'][0]:8.2f} {row['peer'][0]:8.2f} "
                f"{row['peer'][0] / row['ours'][0]:6.2f} {row['ours'][1]:5.0f}/{row['peer'][1]:<5.0f}")
        if args.instructions:
            line += f"  {row['ours'][2] / 1e6:6.2f}/{row['peer'][2] / 1e6:<6.2f}"
        print(line, flush=True)

    def med(key, i):
        return statistics.median(r[i] for r in total[key])

    def tot(key, i):
        return sum(r[i] for r in total[key])

    print(f"\n{len(names)} cases, {args.runs} interleaved runs each (medians per case)")
    for label, i in (("wall ms", 0), ("minor faults", 1)):
        print(f"  {label:13} median ours {med('ours', i):8.2f}  peer {med('peer', i):8.2f}   "
              f"sum ours {tot('ours', i):9.1f}  peer {tot('peer', i):9.1f}   "
              f"ratio (sums) {tot('peer', i) / tot('ours', i):.2f}")
    if args.instructions:
        print(f"  {'instructions':13} median ours {med('ours', 2) / 1e6:7.2f}M  peer {med('peer', 2) / 1e6:7.2f}M"
              f"   sum ours {tot('ours', 2) / 1e6:8.1f}M  peer {tot('peer', 2) / 1e6:8.1f}M"
              f"   ratio (sums) {tot('peer', 2) / tot('ours', 2):.2f}")


if __name__ == "__main__":
    main()
