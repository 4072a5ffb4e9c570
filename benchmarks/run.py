"""Benchmark runner: Factlab and the naive pandas script on the generated inputs, side by side.

Generate the inputs once (about a minute), then run the cases::

    uv run python benchmarks/generate.py --out /tmp/factlab-bench
    uv run python benchmarks/run.py --inputs /tmp/factlab-bench --case gemeente-landelijk \
        --variant huidig --variant voorbereid
    uv run python benchmarks/run.py --inputs /tmp/factlab-bench --case land  # national: minutes

Cases: ``klein`` (3 files of ~20 rows), ``gemeente`` (its own CBS extract),
``gemeente-landelijk`` (the national CBS table, what a gemeente downloads), ``land`` (national
size), ``groei`` (national uploads in subsets of 6, 12, 24 and 48 files, prepared CBS copy: how
cost grows with rows and files), ``doorvoer`` (throughput: 12 runs of the gemeente with the
national table, one, two and three at a time) and ``hmac`` (pseudonymisation of 1.6 M distinct
addresses).
Variants: see ``VARIANTS``.
Each measurement runs in a fresh process: wall time from process start to the process's end
(the targets are checked on it) and to the report written (issue 15's definition), peak RSS of
that process, and seconds per stage with the fixed start-up cost (imports) apart. Every
figure carries the machine's load average before it (and the report the load after the run),
because the reference machine is shared. Results go to ``benchmarks/results/`` as JSON and
Markdown, one pair per run; targets from issue 15 are stated with the factor each is missed by.
Never in the test suite: timings on a shared machine are not assertions.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CASES = {
    # case -> (folder, config file)
    "klein": ("klein", "factlab.toml"),
    "gemeente": ("gemeente", "factlab.toml"),
    "gemeente-landelijk": ("gemeente", "landelijk.toml"),
    "land": ("land", "factlab.toml"),
}
#: ``groei``: every n-th national upload (in path order), so each subset keeps the mix of
#: dialects, encodings and workbooks; 8 -> 6 of the 48 files, 1 -> all of them.
GROWTH_STEPS = (8, 4, 2, 1)
#: ``doorvoer``: this many runs of the gemeente, with each of these numbers at a time.
THROUGHPUT_RUNS, THROUGHPUT_WIDTHS = 12, (1, 2, 3)
# How Factlab gets its CBS table. Each batch is placed against its own postcodes' rows of the
# prepared copy (factlab.connectors.cbs_prepared, parsed once per CBS release). "huidig": first use, the
# copy is made inside the timed run; "voorbereid": the copy of an earlier run.
VARIANTS = ("huidig", "voorbereid")
#: The libraries whose import is measured alone (--case imports), each after the ones before it.
#: The check and the close (factlab.arrival, factlab.closing) are what a run loads on first use:
#: factlab.edition itself no longer loads them (the CLI's light commands start without them).
LIBRARIES = (
    "polars", "duckdb", "factlab.arrival", "factlab.closing", "great_expectations",
    "pandera.polars",
)  # fmt: skip
# Issue 15's targets: (case, what, limit, unit). "path" is intake -> household table.
TARGETS = [
    # (case, variant, what, limit, unit)
    ("klein", "*", "end to end, a tiny edition", 3.0, "s"),
    ("gemeente-landelijk", "voorbereid", "end to end, prepared CBS table", 5.0, "s"),
    ("gemeente-landelijk", "huidig", "end to end, CBS table from CSV", 8.0, "s"),
    ("gemeente-landelijk", "*", "peak RSS", 1024.0, "MB"),
    ("land", "*", "end to end", 40.0, "s"),
    ("land", "*", "peak RSS", 4096.0, "MB"),
    ("land", "*", "speed-up of the intake -> household path over naive", 10.0, "x (at least)"),
    # The polars prototype: 14 s from the CSV, 10.8 s with the CBS table prepared.
    ("land", "voorbereid", "intake -> household path, 1.5x the prototype's 10.8 s", 16.2, "s"),
    ("land", "huidig", "intake -> household path, 1.5x the prototype's 14 s", 21.0, "s"),
    ("hmac", "", "pseudonymisation, distinct addresses per second", 2.0, "M/s (at least)"),
]


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _tree_rss_mb(root: int) -> int:
    """The resident memory of ``root`` and every process below it, now (from /proc)."""
    parents: dict[int, int] = {}
    resident: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
            )
        except (OSError, ValueError):
            continue
        parents[int(entry.name)] = int(fields.get("PPid", "0"))
        resident[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree = {root}
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(resident.get(pid, 0) for pid in tree) // 1024


def _sample_tree(root: int, peak: list[int], done: threading.Event) -> None:
    """Every 50 ms, the whole process tree's resident memory; keeps the highest."""
    while not done.wait(0.05):
        peak[0] = max(peak[0], _tree_rss_mb(root))


def _child(arguments: list[str]) -> dict[str, Any]:
    """Run a measuring child; its JSON line plus wall seconds, its own peak RSS and the load."""
    load = _load()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        launched = time.time()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, *arguments], stdout=stdout, stderr=stderr)
        tree_peak, done = [0], threading.Event()
        sampler = threading.Thread(target=_sample_tree, args=(process.pid, tree_peak, done))
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)  # this child's rusage alone
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{arguments[0]} failed:\n{stderr.read()[-3000:]}")
        result = json.loads(stdout.read().strip().splitlines()[-1])
    # Issue 15's "process start to report written"; wall_s runs on to the process's end.
    written_at = result.pop("report_written_at", None)
    if written_at is not None:
        result["report_written_s"] = round(written_at - launched, 2)
    main_mb = round(usage.ru_maxrss / 1024)
    helper_mb = result.pop("helper_peak_rss_mb", 0)
    readers_mb = result.pop("readers_peak_rss_mb", 0)
    return result | {
        "wall_s": round(wall, 2),
        # The measured process and its helpers, so moving work into a helper never hides
        # memory: the higher of the quality helper's and the process's peaks added (an upper
        # bound), and the whole process tree sampled every 50 ms (the readers of a large check
        # run before the quality helper starts).
        "peak_rss_mb": max(main_mb + helper_mb, tree_peak[0]),
        "peak_rss_main_mb": main_mb,
        "peak_rss_helper_mb": helper_mb,
        "peak_rss_reader_mb": readers_mb,
        "peak_rss_tree_sampled_mb": tree_peak[0],
        "load_before": load,
    }


def _fresh_uploads(source: Path, folder: Path, only: set[Path] | None = None) -> Path:
    """A hard-linked copy (of the files ``only``, if given): a run consumes (deletes) its
    uploads, the originals stay."""
    target = folder / "uploads"

    def left_out(directory: str, names: list[str]) -> list[str]:
        """Every entry that is none of ``only`` and holds none of them (no empty folders)."""
        if only is None:
            return []
        kept = {parent for path in only for parent in (path, *path.parents)}
        return [name for name in names if Path(directory) / name not in kept]

    shutil.copytree(source, target, copy_function=os.link, ignore=left_out)
    return target


def measure_factlab(inputs: Path, case: str, variant: str) -> dict[str, Any]:
    """One ``run_edition`` in a fresh process (what ``factlab run`` does)."""
    folder, config = CASES[case]
    with tempfile.TemporaryDirectory(prefix="factlab-bench-") as scratch:
        uploads = _fresh_uploads(inputs / folder / "uploads", Path(scratch))
        cache = inputs / "cache" if variant == "voorbereid" else Path(scratch) / "cache"
        os.environ["FACTLAB_CACHE"] = str(cache)
        arguments = [__file__, "--child-factlab", str(inputs / folder / config), str(uploads)]
        if variant == "voorbereid":  # the copy of an earlier run, made outside the timing
            _child([*arguments, scratch, "--prepare-only"])
        return _child([*arguments, scratch])


def measure_growth(inputs: Path) -> dict[str, Any]:
    """The national uploads in growing subsets (:data:`GROWTH_STEPS`), each run end to end in
    a fresh process with the prepared CBS copy; the edition expects the subset's partners."""
    folder, config = CASES["land"]
    source = inputs / folder / "uploads"
    files = sorted(p for p in source.rglob("*") if p.is_file())
    os.environ["FACTLAB_CACHE"] = str(inputs / "cache")
    arguments = [__file__, "--child-factlab", str(inputs / folder / config)]
    with tempfile.TemporaryDirectory(prefix="factlab-bench-") as scratch:
        _child([*arguments, str(source), scratch, "--prepare-only"])
    results = {}
    for step in GROWTH_STEPS:
        subset = files[::step]
        with tempfile.TemporaryDirectory(prefix="factlab-bench-") as scratch:
            uploads = _fresh_uploads(source, Path(scratch), only=set(subset))
            results[f"factlab {len(subset)} bestanden"] = _child(
                [*arguments, str(uploads), scratch, "--expect-present"]
            )
    return results


def measure_throughput(inputs: Path) -> dict[str, Any]:
    """What one machine closes per minute: :data:`THROUGHPUT_RUNS` runs of the gemeente with
    the national CBS table (prepared copy), each a fresh process with its own uploads, so many
    at a time (a Prefect worker's ``--limit``)."""
    folder, config = CASES["gemeente-landelijk"]
    os.environ["FACTLAB_CACHE"] = str(inputs / "cache")
    arguments = [__file__, "--child-factlab", str(inputs / folder / config)]
    with tempfile.TemporaryDirectory(prefix="factlab-bench-") as scratch:
        _child([*arguments, str(inputs / folder / "uploads"), scratch, "--prepare-only"])

    def one(_: int) -> float:
        with tempfile.TemporaryDirectory(prefix="factlab-bench-") as scratch:
            uploads = _fresh_uploads(inputs / folder / "uploads", Path(scratch))
            return float(_child([*arguments, str(uploads), scratch])["wall_s"])

    results = {}
    for width in THROUGHPUT_WIDTHS:
        load = _load()
        started = time.perf_counter()
        with ThreadPoolExecutor(width) as pool:
            each = list(pool.map(one, range(THROUGHPUT_RUNS)))
        total = time.perf_counter() - started
        results[f"{width} tegelijk"] = {
            "runs": THROUGHPUT_RUNS,
            "total_s": round(total, 1),
            "per_run_s": round(total / THROUGHPUT_RUNS, 2),
            "each_s": [min(each), max(each)],
            "load_before": load,
        }
    return results


def measure_naive(inputs: Path, case: str) -> dict[str, Any]:
    folder, config = CASES[case]
    with tempfile.TemporaryDirectory(prefix="factlab-naive-") as scratch:
        return _child(
            [
                str(HERE / "naive.py"),
                "--config",
                str(inputs / folder / config),
                "--uploads",
                str(inputs / folder / "uploads"),
                "--out",
                scratch,
            ]
        )


def measure_hmac() -> dict[str, Any]:
    return _child([__file__, "--child-hmac"])


def measure_imports() -> dict[str, Any]:
    """Seconds to import each heavy library alone, in one fresh process (fixed costs), and Great
    Expectations as the quality helper imports it, first thing in a fresh process of its own."""
    libraries = _child([__file__, "--child-imports"])
    helper = _child([__file__, "--child-imports", "--helper"])
    libraries["stages_s"] |= helper["stages_s"]
    return libraries


def _child_imports(*, helper: bool) -> None:
    stages = {}
    if helper:
        from factlab.quality_helper import import_great_expectations

        started = time.perf_counter()
        import_great_expectations()
        stages["Great Expectations in the quality helper"] = time.perf_counter() - started
    else:
        for module in LIBRARIES:
            started = time.perf_counter()
            importlib.import_module(module)
            stages[f"import {module}"] = time.perf_counter() - started
    print(json.dumps({"stages_s": {name: round(s, 2) for name, s in stages.items()}}))


def _child_factlab(
    config_path: Path, uploads: Path, scratch: Path, *, prepare_only: bool, expect_present: bool
) -> None:
    """Measuring child: imports, then every stage of one edition as its progress reports it.

    ``expect_present``: the edition expects only the partners with a folder in ``uploads``
    (a subset of the config's), so it closes complete."""
    started = time.perf_counter()
    if not prepare_only:  # what `factlab run` does before its imports
        from factlab.launch import start_helpers

        start_helpers(["run", "--uploads", str(uploads)])
    # The check and the close: factlab run loads them when it first checks and closes (so its
    # light commands start without them); counted as start-up here, as every round did.
    import factlab.arrival
    import factlab.closing  # noqa: F401
    from factlab.config import load_config
    from factlab.edition import RunSettings, run_edition
    from factlab.keys import ephemeral_key

    stages = {"start-up (imports)": time.perf_counter() - started}
    config = load_config(config_path)
    if expect_present:
        present = tuple(sorted(p.name for p in uploads.iterdir() if p.is_dir()))
        config = dataclasses.replace(config, expected_partners=present)
    if prepare_only:
        from factlab.connectors.cbs_prepared import prepare

        prepare(config.address_table)
        print("{}")
        return
    # Great Expectations is not imported here: the run imports it on first use (the household
    # check), so its cost is measured where it falls; its import alone is measured in a child
    # of its own (--case imports).
    settings = RunSettings(uploads, scratch / "uit", "bench", config, config.period)
    names = {
        "start": "voorbereiden: editie openen, uploads zoeken",
        "controleren": "controleren: lezen, valideren, plaatsen (één keer per upload)",
        "pseudonimiseren": "pseudonimiseren (alle gecontroleerde rijen in één stroom)",
        "koppelen per huishouden": "koppelen (de kwaliteitscontrole loopt in een eigen proces)",
        "publiceren": "publiceren: analyse, openbaarmaking, tabellen, rapport, oordeel kwaliteit",
        "klaar": "opruimen",
    }
    current = ("start", time.perf_counter())  # the stage under way, since when

    def close_stage(now: float) -> None:
        name = names.get(current[0], current[0])
        stages[name] = stages.get(name, 0.0) + now - current[1]

    def progress(what: str, done: int, total: int) -> None:
        nonlocal current
        now = time.perf_counter()
        close_stage(now)
        current = (what.split(":")[0], now)

    run_started = time.perf_counter()
    outcome = run_edition(settings, ephemeral_key(), progress)
    report_written = time.time()  # wall clock: compared with the parent's start of this process
    close_stage(time.perf_counter())
    rows = sum(o.receipt.counts["rijen_gelezen"] for o in outcome.outcomes)
    print(
        json.dumps(
            {
                "helper_peak_rss_mb": _helper_peak_rss_mb(),
                # The highest of the processes this one waited for: the check's readers.
                "readers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                // 1024,
                "rows": rows,
                "files": len(outcome.outcomes),
                "files_quarantined": sum(o.receipt.status != "verwerkt" for o in outcome.outcomes),
                "households": outcome.households,
                "run_s": round(time.perf_counter() - run_started, 2),
                "report_written_at": report_written,
                "stages_s": {k: round(v, 2) for k, v in stages.items()},
            }
        )
    )


def _helper_peak_rss_mb() -> int:
    """Peak RSS of the quality helper processes this process started (Great Expectations runs
    there, beside the close): its parent's rusage never includes them, so read them here."""
    peak = 0
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if (
            b"factlab.helper_process" in command
            and int(fields["PPid"]) == os.getpid()
            and "VmHWM" in fields
        ):
            peak += int(fields["VmHWM"].split()[0]) // 1024
    return peak


def _child_hmac() -> None:
    """Measuring child: pseudonymise 1.6 M distinct addresses (timed after the imports)."""
    import polars as pl

    from factlab.keys import ephemeral_key
    from factlab.pseudonymise import pseudonymise

    n = 1_600_000
    frame = pl.DataFrame({"i": range(n)}).select(
        adres_sleutel=pl.format(
            "{}{}|{}||", 1000 + pl.col("i") % 8000, pl.lit("AB"), pl.col("i") // 8000
        )
    )
    started = time.perf_counter()
    pseudonymise(frame, ephemeral_key())
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": n, "stages_s": {"pseudonimiseren": round(seconds, 3)}}))


def _verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 15 against each measurement it applies to, with how much it misses."""
    out = []
    for case, variant, what, limit, unit in TARGETS:
        runs = results.get(case, {})
        if case == "hmac":
            found = (
                [("factlab", runs["rows"] / runs["stages_s"]["pseudonimiseren"] / 1e6)]
                if runs
                else []
            )
        else:
            found = []
            for implementation, measured in runs.items():
                if not implementation.startswith("factlab") or variant not in (
                    "*",
                    implementation.removeprefix("factlab "),
                ):
                    continue
                if "RSS" in what:
                    found.append((implementation, measured["peak_rss_mb"]))
                elif "speed-up" in what:
                    if "naive" in runs:
                        ratio = _path_seconds(runs["naive"]) / _path_seconds(measured)
                        found.append((implementation, ratio))
                elif "prototype" in what:
                    found.append((implementation, _path_seconds(measured)))
                else:
                    found.append((implementation, measured["wall_s"]))
        at_least = "at least" in unit
        for implementation, value in found:
            met = value >= limit if at_least else value <= limit
            out.append(
                {
                    "case": case,
                    "implementation": implementation,
                    "what": what,
                    "target": f"{'>=' if at_least else '<'} {limit:g} {unit.split(' ')[0]}",
                    "measured": round(value, 2),
                    "met": met,
                    "missed_by_factor": None
                    if met
                    else round(limit / value if at_least else value / limit, 2),
                }
            )
    return out


def _path_seconds(result: dict[str, Any]) -> float:
    """Intake -> household table: everything but start-up (and, for Factlab, publishing)."""
    return sum(
        seconds
        for stage, seconds in result["stages_s"].items()
        if not stage.startswith(("start-up", "publiceren", "opruimen"))
    )


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark {report['when']}",
        "",
        f"Machine: {report['machine']}. Load average (1, 5, 15 min) before each measurement "
        "is in the table; the machine is shared, so figures are noisy.",
        "",
        "| case | implementation | rows | wall s | report written s | rows/s | peak RSS MB "
        "| start-up s | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    stage_lines = []
    for case, result in report["results"].items():
        for implementation, measured in result.items():
            if not isinstance(measured, dict) or "stages_s" not in measured:
                continue
            startup = sum(v for k, v in measured["stages_s"].items() if k.startswith("start-up"))
            lines.append(
                f"| {case} | {implementation} | {measured['rows']:,} | {measured['wall_s']} | "
                f"{measured.get('report_written_s', '')} | "
                f"{measured['rows'] / measured['wall_s']:,.0f} | {measured['peak_rss_mb']} | "
                f"{startup:.2f} | {measured['load_before'][0]} |"
            )
            for stage, seconds in measured["stages_s"].items():
                rate = (
                    f"{measured['rows'] / seconds:,.0f}"
                    if seconds > 0 and not stage.startswith("start-up")
                    else ""
                )
                stage_lines.append(f"| {case} | {implementation} | {stage} | {seconds} | {rate} |")
        if case == "imports":
            for module, seconds in result["stages_s"].items():
                stage_lines.append(f"| imports | fresh process | {module} | {seconds} | |")
        if case == "doorvoer":
            for width, measured in result.items():
                lines.append(
                    f"| doorvoer | {width}: {measured['runs']} runs in {measured['total_s']} s, "
                    f"{measured['per_run_s']} s a run, each {measured['each_s'][0]}-"
                    f"{measured['each_s'][1]} s | | | | | | | {measured['load_before'][0]} |"
                )
        if case == "hmac":
            seconds = result["stages_s"]["pseudonimiseren"]
            lines.append(
                f"| hmac | factlab | {result['rows']:,} | {seconds} | | "
                f"{result['rows'] / seconds:,.0f} | {result['peak_rss_mb']} | | "
                f"{result['load_before'][0]} |"
            )
    lines += [
        "",
        "Per stage (rows/s is upload rows over the stage's seconds):",
        "",
        "| case | implementation | stage | s | rows/s |",
        "|---|---|---|---:|---:|",
        *stage_lines,
        "",
        "Targets (issue 15):",
        "",
        "| case | target | measured | met | missed by |",
        "|---|---|---:|---|---:|",
    ]
    for verdict in report["targets"]:
        lines.append(
            f"| {verdict['case']} | {verdict['implementation']}: {verdict['what']} "
            f"{verdict['target']} | {verdict['measured']} "
            f"| {'ja' if verdict['met'] else 'nee'} | "
            f"{'' if verdict['met'] else str(verdict['missed_by_factor']) + 'x'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=Path, help="folder written by benchmarks/generate.py")
    parser.add_argument(
        "--case", action="append", choices=[*CASES, "groei", "doorvoer", "hmac", "imports"],
        help="repeatable",
    )  # fmt: skip
    parser.add_argument("--no-naive", action="store_true", help="skip the naive pandas script")
    parser.add_argument(
        "--variant", action="append", choices=VARIANTS, help="repeatable; default huidig"
    )
    parser.add_argument("--child-factlab", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--expect-present", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-hmac", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-imports", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--helper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_factlab:
        _child_factlab(
            *args.child_factlab, prepare_only=args.prepare_only, expect_present=args.expect_present
        )
        return
    if args.child_hmac:
        _child_hmac()
        return
    if args.child_imports:
        _child_imports(helper=args.helper)
        return
    cases = args.case or ["hmac", "gemeente", "gemeente-landelijk"]
    if any(c in (*CASES, "groei", "doorvoer") for c in cases) and not args.inputs:
        parser.error("--inputs is required for every case but hmac and imports")
    results: dict[str, Any] = {}
    for case in cases:
        if case == "hmac":
            results[case] = measure_hmac()
        elif case == "imports":
            results[case] = measure_imports()
        elif case == "groei":
            results[case] = measure_growth(args.inputs)
        elif case == "doorvoer":
            results[case] = measure_throughput(args.inputs)
        else:
            results[case] = {
                f"factlab {variant}": measure_factlab(args.inputs, case, variant)
                for variant in args.variant or ["huidig"]
            }
            if not args.no_naive:
                results[case]["naive"] = measure_naive(args.inputs, case)
        print(f"{case}: {json.dumps(results[case])}", file=sys.stderr)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    report = {
        "when": when,
        "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_after": _load(),
        "inputs": json.loads((args.inputs / "inputs.json").read_text()) if args.inputs else None,
        "results": results,
    }
    report["targets"] = _verdicts(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{when}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (RESULTS / f"{when}.md").write_text(_markdown(report), encoding="utf-8")
    print(_markdown(report))


if __name__ == "__main__":
    main()
