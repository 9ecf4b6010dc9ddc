#!/usr/bin/env python3
"""Time `verify` side by side with sigstore-rust's conformance client, sigstore-python and
sigstore-js, as processes.

Called by bench/cli.sh (which builds target/release/verify first). For each verifier:

1. the shared conformance runner over the Sigstore bundle cases, one run at a time
   (`run --jobs 1`): the median milliseconds a run (over every run of every round) and
   the score (runs whose exit status was the expected one);
2. with hyperfine (if installed), one fixed happy-path case, to time a single verification
   precisely; and `verify --version` as the floor of starting a process at all.

Ratios are peer / ours: how many times longer the peer takes.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SETUP_HINT = "run bench/setup-peers.sh to install it"


def conformance_dir():
    return os.path.abspath(
        os.environ.get("CONFORMANCE_DIR") or os.path.join(REPO, "..", "shared", "conformance")
    )


class Contender:
    """A verifier as the runner calls it: a command prefix and its environment."""

    def __init__(self, key, name, entry, env=None, missing=None, rounds=1):
        self.key, self.name, self.entry = key, name, entry
        self.env = dict(os.environ, **(env or {}))
        self.missing = missing  # why it cannot run, or None
        self.rounds = rounds
        self.suite = None  # filled by run_suite
        self.single = None  # filled by hyperfine


def contenders(args, conf):
    peers = os.path.abspath(os.environ.get("PEERS_DIR") or os.path.join(HERE, ".peers"))
    verify = os.path.abspath(args.verify_bin)
    ours = Contender(
        "ours", "verify (ours)", [verify], rounds=args.rounds,
        missing=None if os.access(verify, os.X_OK) else f"{verify} not found: run bench/cli.sh, which builds it",
    )
    result = [ours]

    # sigstore-rust's own conformance client, built outside the repository by
    # bench/setup-sigstore-rust.sh against the same sigstore-verify release. It speaks
    # the conformance protocol itself, so the runner calls it directly.
    rust = os.path.abspath(os.environ.get("SIGSTORE_RUST_CONFORMANCE")
                           or os.path.join("/tmp", "sigstore-rust-conformance", "target", "release",
                                           "conformance"))
    result.append(Contender(
        "rust", "sigstore-rust conformance", [rust], rounds=args.rounds,
        missing=None if os.access(rust, os.X_OK) else
        f"{rust} not found: run bench/setup-sigstore-rust.sh (or set SIGSTORE_RUST_CONFORMANCE)",
    ))

    py = os.path.join(peers, "venv", "bin", "python")
    py_entry = os.path.join(conf, "peers", "sigstore-python-entry")
    missing = None
    if not os.access(py, os.X_OK):
        missing = f"sigstore-python is not installed in {os.path.dirname(os.path.dirname(py))}: {SETUP_HINT}"
    elif subprocess.run([py, "-c", "import sigstore"], capture_output=True).returncode != 0:
        missing = f"the venv at {os.path.dirname(os.path.dirname(py))} has no sigstore package: {SETUP_HINT}"
    # The entry is run by the venv's interpreter directly, not through its
    # `#!/usr/bin/env python3` line, so no version-manager shim is timed.
    result.append(Contender("python", "sigstore-python", [py, py_entry], rounds=args.peer_rounds,
                            env={"PEER_PYTHON": py}, missing=missing))

    node_modules = os.path.join(peers, "node", "node_modules")
    js_entry = os.path.join(conf, "peers", "sigstore-js-entry")
    node = shutil.which("node")
    if node is None:
        missing = f"node is not on PATH (Debian: apt-get install nodejs); then {SETUP_HINT}"
    elif not os.path.isfile(os.path.join(node_modules, "@sigstore", "verify", "package.json")):
        missing = f"sigstore-js is not installed in {node_modules}: {SETUP_HINT}"
    else:
        missing = None
    result.append(Contender("js", "sigstore-js", [node or "node", js_entry], rounds=args.peer_rounds,
                            env={"NODE_PATH": node_modules,
                                 "PEER_DEFAULT_ROOT": os.path.join(conf, "sigstore", "shared",
                                                                   "trusted_root.production.json")},
                            missing=missing))
    wanted = set(args.only.split(",")) if args.only else None
    return [c for c in result if wanted is None or c.key in wanted]


def run_suite(c, conf, cases):
    """Run the conformance runner `c.rounds` times; pool every run's seconds."""
    runner = os.path.join(conf, "run")
    seconds, round_medians, walls, score = [], [], [], None
    for r in range(c.rounds):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out_json = tmp.name
        try:
            t0 = time.perf_counter()
            p = subprocess.run(
                [sys.executable, runner, "--entry", shlex.join(c.entry), "--cases", cases,
                 "--jobs", "1", "--json", out_json, "--label", c.key],
                env=c.env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
            )
            walls.append(time.perf_counter() - t0)
            m = re.search(r"^\S+: (\d+) passed, (\d+) failed\s*$", p.stdout, re.M)
            if not m or not os.path.getsize(out_json):
                sys.exit(f"cli.py: the runner failed for {c.name}:\n{p.stdout}{p.stderr}")
            passed, failed = int(m.group(1)), int(m.group(2))
            if score is not None and score != (passed, failed):
                print(f"note: {c.name} scored {passed}/{passed + failed} in round {r + 1}, "
                      f"{score[0]}/{sum(score)} before", file=sys.stderr)
            score = (passed, failed)
            with open(out_json) as f:
                results = json.load(f)
            runs = [x["seconds"] for x in results]
            failed_runs = sorted(f"{x['case']} [{x['mode']}]" for x in results if not x["ok"])
        finally:
            os.unlink(out_json)
        seconds += runs
        round_medians.append(statistics.median(runs))
        print(f"  {c.name}: round {r + 1}/{c.rounds}: median {statistics.median(runs) * 1000:.1f} ms a run, "
              f"{passed}/{passed + failed} passed, {walls[-1]:.1f} s", file=sys.stderr)
    c.suite = {
        "median_ms": statistics.median(seconds) * 1000,
        "round_medians_ms": [x * 1000 for x in round_medians],
        "runs": len(seconds) // c.rounds,
        "rounds": c.rounds,
        "passed": score[0],
        "total": sum(score),
        "wall_s": statistics.median(walls),
        "failed": failed_runs,
    }
    if failed_runs:
        print(f"  {c.name}: failed runs: {', '.join(failed_runs)}", file=sys.stderr)


def hyperfine(name, argv, cwd, env, runs=None):
    """Time one command with `hyperfine -N`; return its median and spread in ms."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out_json = tmp.name
    try:
        cmd = ["hyperfine", "-N", "--warmup", "3", "--style", "none", "--export-json", out_json,
               "--command-name", name]
        if runs:
            cmd += ["--runs", str(runs)]
        p = subprocess.run(cmd + [shlex.join(argv)], cwd=cwd, env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            print(f"note: hyperfine failed for {name}:\n{p.stderr.strip()}", file=sys.stderr)
            return None
        with open(out_json) as f:
            r = json.load(f)["results"][0]
    finally:
        os.unlink(out_json)
    return {"median_ms": r["median"] * 1000, "mean_ms": r["mean"] * 1000,
            "stddev_ms": (r["stddev"] or 0) * 1000, "runs": len(r["times"])}


def fmt_ms(ms):
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def fmt_ratio(peer, ours):
    if peer is None or ours is None or ours <= 0:
        return "-"
    r = peer / ours
    return f"{r:.1f}x" if r < 10 else f"{r:.0f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="runner rounds for verify (default 5)")
    ap.add_argument("--peer-rounds", type=int, default=1, help="runner rounds for each peer (default 1)")
    ap.add_argument("--only", default=None, help="comma-separated subset of: ours,rust,python,js")
    ap.add_argument("--case", default="happy-path-v0.3", help="the case timed with hyperfine")
    ap.add_argument("--no-hyperfine", action="store_true")
    ap.add_argument("--no-suite", action="store_true", help="skip the conformance-runner part")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--verify-bin", default=os.environ.get("VERIFY_BIN")
                    or os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target"),
                                    "release", "verify"))
    ap.add_argument("--build", action="store_true", help="(handled by cli.sh) rebuild verify first")
    args = ap.parse_args()

    conf = conformance_dir()
    cases = os.path.join(conf, "sigstore", "cases")
    if not os.path.isfile(os.path.join(conf, "run")) or not os.path.isdir(cases):
        sys.exit(f"cli.py: no conformance runner and cases under {conf} (set CONFORMANCE_DIR)")

    all_c = contenders(args, conf)
    for c in all_c:
        if c.missing:
            print(f"skipping {c.name}: {c.missing}", file=sys.stderr)
    ready = [c for c in all_c if not c.missing]
    if not ready:
        sys.exit("cli.py: nothing to run")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} cpus, load average {load:.2f} at start", file=sys.stderr)

    if not args.no_suite:
        print(f"conformance runner over {cases} (--jobs 1):", file=sys.stderr)
        for c in ready:
            run_suite(c, conf, cases)

    floor = None
    have_hf = shutil.which("hyperfine") is not None and not args.no_hyperfine
    if not have_hf and not args.no_hyperfine:
        print("note: hyperfine not found (Debian: apt-get install hyperfine): single-case timings skipped",
              file=sys.stderr)
    if have_hf:
        case_dir = os.path.join(cases, args.case)
        with open(os.path.join(case_dir, "case.json")) as f:
            argv = json.load(f)["protocol_argv_path"]
        print(f"hyperfine -N on {args.case} (artifact path mode):", file=sys.stderr)
        for c in ready:
            # Slow peers get 10 runs, enough for a median of a ~1 s process.
            runs = 10 if c.key == "python" else None
            c.single = hyperfine(c.name, c.entry + argv, case_dir, c.env, runs)
            if c.single:
                print(f"  {c.name}: median {fmt_ms(c.single['median_ms'])} ms over {c.single['runs']} runs",
                      file=sys.stderr)
        ours = next((c for c in ready if c.key == "ours"), None)
        if ours:
            floor = hyperfine("verify --version", ours.entry + ["--version"], case_dir, ours.env)

    ours = next((c for c in ready if c.key == "ours"), None)
    ours_suite = ours.suite["median_ms"] if ours and ours.suite else None
    ours_single = ours.single["median_ms"] if ours and ours.single else None

    rows = [("verifier", "score", "suite ms/run", "ratio", f"{args.case} ms", "ratio", "suite wall s")]
    for c in ready:
        s, h = c.suite, c.single
        rows.append((
            c.name,
            f"{s['passed']}/{s['total']}" if s else "-",
            (fmt_ms(s["median_ms"]) + (f" ({s['rounds']}x)" if s["rounds"] > 1 else "")) if s else "-",
            fmt_ratio(s["median_ms"] if s else None, ours_suite) if c.key != "ours" else "1",
            f"{fmt_ms(h['median_ms'])} ±{fmt_ms(h['stddev_ms'])}" if h else "-",
            fmt_ratio(h["median_ms"] if h else None, ours_single) if c.key != "ours" else "1",
            f"{s['wall_s']:.1f}" if s else "-",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for i, r in enumerate(rows):
        print("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if floor:
        print(f"process floor (verify --version, hyperfine -N): {fmt_ms(floor['median_ms'])} "
              f"±{fmt_ms(floor['stddev_ms'])} ms")
    if ours and ours.suite and ours.suite["rounds"] > 1:
        meds = ours.suite["round_medians_ms"]
        print(f"verify per-round suite medians: {', '.join(fmt_ms(m) for m in meds)} ms "
              f"(spread is machine noise)")
    print("ratio = peer median / our median (higher: we are faster). suite ms/run: median of every run "
          "of the runner (both argument modes, passing and failing cases, process start included); "
          "medians, not means, because the machine is shared and noisy.")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_average": load, "case": args.case,
                       "floor": floor,
                       "verifiers": {c.key: {"name": c.name, "suite": c.suite, "single": c.single}
                                     for c in ready}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
