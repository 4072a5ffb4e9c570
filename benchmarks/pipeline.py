"""Benchmark: synthesise a gemeente at some scale and time a whole edition run.

Speed targets live here, not in the test suite. Run from the repository root::

    uv run python benchmarks/pipeline.py --scale 1 --scale 10

For each scale it prints dwellings, upload rows and households, the wall time of synthesis and of
the run (with the time spent per stage, from the run's progress reports), and the peak resident
memory of the process. Each scale runs in a fresh subprocess so peak memory is per scale.

Targets (on the 2-core reference machine): the demo gemeente (scale 1, ~29,000 upload rows)
runs in under 12 s and 1 GB, so ``factlab demo`` finishes in seconds; ten times Zaanstad
(~290,000 rows) in under 45 s and 1.5 GB. Measured 2026-11-22:
6.9 s / 511 MB and 12.3 s / 748 MB. A missed target is reported and makes the script exit 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _measure(scale: float, seed: int) -> dict[str, object]:
    from factlab.config import load_config
    from factlab.edition import RunSettings, run_edition
    from factlab.keys import ephemeral_key
    from factlab.synth import synthesise

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        summary = synthesise(root / "gemeente", seed=seed, scale=scale)
        synth_seconds = time.perf_counter() - started
        upload_bytes = sum(
            p.stat().st_size for p in (root / "gemeente" / "uploads").rglob("*") if p.is_file()
        )
        config = load_config(root / "gemeente" / "factlab.toml")
        settings = RunSettings(
            root / "gemeente" / "uploads", root / "out", "bench", config, config.period
        )

        stages: dict[str, float] = {}
        last = ("start", time.perf_counter())  # the stage under way, since when

        def close_stage(now: float) -> None:
            stages[last[0]] = stages.get(last[0], 0.0) + now - last[1]

        def progress(what: str, done: int, total: int) -> None:
            nonlocal last
            now = time.perf_counter()
            close_stage(now)
            last = (what.split(":")[0], now)

        started = time.perf_counter()
        result = run_edition(settings, ephemeral_key(), progress)
        run_seconds = time.perf_counter() - started
        close_stage(time.perf_counter())
        rows = sum(o.receipt.counts["rijen_gelezen"] for o in result.outcomes)
    return {
        "scale": scale,
        "dwellings": summary.n_dwellings,
        "upload_rows": rows,
        "upload_mb": round(upload_bytes / 1e6, 1),
        "households": result.households,
        "synth_s": round(synth_seconds, 2),
        "run_s": round(run_seconds, 2),
        "rows_per_s": round(rows / run_seconds),
        "stages_s": {k: round(v, 2) for k, v in stages.items() if k != "start"},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


# scale -> (max run seconds, max peak RSS in MB)
TARGETS: dict[float, tuple[float, float]] = {1.0: (12.0, 1000.0), 10.0: (45.0, 1500.0)}


def _verdict(result: dict[str, object]) -> str | None:
    target = TARGETS.get(float(result["scale"]))  # type: ignore[arg-type]
    if target is None:
        return None
    seconds, megabytes = target
    met = float(result["run_s"]) <= seconds and float(result["peak_rss_mb"]) <= megabytes  # type: ignore[arg-type]
    return f"target {seconds:g} s / {megabytes:g} MB: {'met' if met else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, action="append", help="gemeente scale (repeatable); default 1"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_measure(args.scale[0], args.seed)))
        return
    missed = False
    for scale in args.scale or [1.0]:
        child = subprocess.run(
            [sys.executable, __file__, "--one", "--scale", str(scale), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        verdict = _verdict(result)
        print(json.dumps(result | ({"target": verdict} if verdict else {}), indent=2))
        missed |= bool(verdict and verdict.endswith("MISSED"))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
