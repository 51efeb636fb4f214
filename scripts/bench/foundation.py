#!/usr/bin/env python3
"""Foundation benchmarks: release bundle size, server cold start, and (with
--clone) a fresh clone to a serving app and to a finished test run.

    python3 scripts/bench/foundation.py            # bundle + cold start (builds release)
    python3 scripts/bench/foundation.py --clone    # also the fresh-clone timings (long)

Prints a Markdown table for docs/benchmarks.md. Nothing here asserts a time.
"""
import argparse
import gzip
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except OSError:
        return False


def wait_healthy(url: str, process: subprocess.Popen, limit_s: float) -> float:
    """Seconds from now until `url` answers 200; raises if the process dies."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        if healthy(url):
            return time.perf_counter() - start
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        time.sleep(0.001)
    raise RuntimeError(f"no 200 from {url} within {limit_s}s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def build_release(cwd: Path) -> None:
    env = dict(os.environ, PATH=f"{cwd / 'node_modules/.bin'}:{os.environ['PATH']}")
    subprocess.run(["cargo", "leptos", "build", "--release"], cwd=cwd, env=env, check=True)


def bundle_sizes(site: Path) -> dict:
    sizes = {}
    for name in ["opsdesk.wasm", "opsdesk.js", "opsdesk.css"]:
        data = (site / "pkg" / name).read_bytes()
        sizes[name] = (len(data), len(gzip.compress(data, compresslevel=9)))
    return sizes


def cold_starts(binary: Path, runs: int, fresh: bool) -> list:
    """Spawn-to-first-/healthz-200 times; `fresh` starts each on an empty data dir
    (migrations and demo seeding included), else on one that already exists."""
    times = []
    with tempfile.TemporaryDirectory() as kept:
        for _ in range(runs):
            data = tempfile.mkdtemp() if fresh else kept
            port = free_port()
            start = time.perf_counter()
            process = subprocess.Popen(
                [str(binary), "serve", "--addr", f"127.0.0.1:{port}", "--data-dir", data,
                 "--site-root", str(ROOT / "target/site")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_healthy(f"http://127.0.0.1:{port}/healthz", process, 30)
                times.append(time.perf_counter() - start)
            finally:
                stop(process)
                if fresh:
                    shutil.rmtree(data, ignore_errors=True)
    return times


def fresh_clone_timings() -> dict:
    """A fresh clone (empty target/, tools already installed) to a serving app,
    and to a finished run of the test command."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "opsdesk"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        port = free_port()
        start = time.perf_counter()
        process = subprocess.Popen(["scripts/run.sh", "--addr", f"127.0.0.1:{port}"], cwd=clone,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", process, 3600)
            results["clone → serving (scripts/run.sh)"] = time.perf_counter() - start
        finally:
            stop(process)
        start = time.perf_counter()
        subprocess.run(["scripts/test.sh"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        results["then → tests finished (scripts/test.sh)"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "opsdesk"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        start = time.perf_counter()
        subprocess.run(["scripts/test.sh"], cwd=clone, check=True, stdout=subprocess.DEVNULL)
        results["clone → tests finished (scripts/test.sh)"] = time.perf_counter() - start
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clone", action="store_true", help="also time fresh clones (tens of minutes)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    build_release(ROOT)
    print("| bundle file | raw | gzip -9 |\n|---|---|---|")
    total = 0
    for name, (raw, gz) in bundle_sizes(ROOT / "target/site").items():
        total += gz
        print(f"| `{name}` | {raw / 1024:.1f} KiB | {gz / 1024:.1f} KiB |")
    print(f"| **total** | | **{total / 1024:.1f} KiB** |\n")

    binary = ROOT / "target/release/opsdesk"
    print("| cold start to first /healthz 200 | median | min | max |\n|---|---|---|---|")
    for label, fresh in [("empty data dir (migrate + demo seed)", True), ("existing data dir", False)]:
        times = [t * 1000 for t in cold_starts(binary, args.runs, fresh)]
        print(f"| {label}, {args.runs} runs | {statistics.median(times):.0f} ms | {min(times):.0f} ms | {max(times):.0f} ms |")

    if args.clone:
        print("\n| fresh clone (tools installed, empty target/) | time |\n|---|---|")
        for label, seconds in fresh_clone_timings().items():
            print(f"| {label} | {seconds / 60:.1f} min |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
