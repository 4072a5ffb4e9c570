"""The synthetic demo gemeente: format, reproducibility, calibration and truth consistency.

These tests check the generator against the published figures and the delivery format; they
do not run the pipeline (that is the pipeline's own tests' job).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from openpyxl import load_workbook

from factlab import synth
from factlab.config import CANONICAL_COLUMNS
from factlab.connectors.cbs import read_wijkkaart
from factlab.errors import FactlabError
from factlab.synth import (
    JWP_COMBOS,
    PERIOD_END,
    PERIOD_START,
    SynthSummary,
    catalogue_domains,
    generate_dwellings,
    geography,
    load_wijken,
    synthesise,
)

SMALL = 0.2
CANONICAL = {*CANONICAL_COLUMNS, "toevoeging"}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    """The default demo (scale 1, seed 2026), generated once for this module."""
    out = tmp_path_factory.mktemp("synth_full")
    return out, synthesise(out)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    """A small demo for properties that do not need the full size."""
    out = tmp_path_factory.mktemp("synth_small")
    return out, synthesise(out, seed=11, scale=SMALL)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lstrip("\ufeff")).lower()


def _read_upload(path: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    """Header and data rows (blank lines dropped) of an upload, independent of the pipeline."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        wb = load_workbook(path, read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        header = [str(c) for c in rows[0]]
        body = [tuple(r) for r in rows[1:] if any(c not in (None, "") for c in r)]
        return header, body
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    body = [tuple(r) for r in rows[1:] if any(c.strip() for c in r)]
    return rows[0], body


def _truth(root: Path) -> pl.DataFrame:
    return pl.read_parquet(root / "waarheid" / "huishoudens.parquet")


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    synthesise(a, seed=5, scale=SMALL)
    synthesise(b, seed=5, scale=SMALL)
    synthesise(c, seed=6, scale=SMALL)
    files_a, files_b, files_c = _files(a), _files(b), _files(c)
    assert files_a == files_b
    assert files_a.keys() == files_c.keys()
    changed = [name for name in files_a if files_a[name] != files_c[name]]
    assert "referentie/pc6hnr.csv" in changed
    assert sum(name.startswith("uploads/") for name in changed) == sum(
        name.startswith("uploads/") for name in files_a
    )


# --------------------------------------------------------------------------- reference tables


def test_pc6hnr_has_the_cbs_format(full: tuple[Path, SynthSummary]) -> None:
    root, _ = full
    text = (root / "referentie" / "pc6hnr.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "PC6;Huisnummer;Buurt2025;Wijk2025;Gemeente2025"
    table = pl.read_csv(
        io.StringIO(text), separator=";", infer_schema=False
    )  # every column as text: leading zeros must survive
    assert table.select(pl.all().is_null().any()).row(0) == (False,) * 5
    assert table["PC6"].str.contains(r"^[1-9]\d{3}[A-Z]{2}$").all()
    assert not table["PC6"].str.slice(4).is_in(["SA", "SD", "SS"]).any()
    assert table["Huisnummer"].str.contains(r"^[1-9]\d{0,4}$").all()
    assert table.select(pl.struct("PC6", "Huisnummer").is_unique().all()).item()
    zaanstad = table.filter(pl.col("Gemeente2025") == "0479")
    assert zaanstad["Buurt2025"].str.contains(r"^0479\d{4}$").all()
    assert (zaanstad["Buurt2025"].str.slice(0, 6) == zaanstad["Wijk2025"]).all()
    wijk_codes = {w.code[2:] for w in load_wijken()}
    assert set(zaanstad["Wijk2025"].unique()) == wijk_codes
    buurten_per_wijk = zaanstad.group_by("Wijk2025").agg(pl.col("Buurt2025").n_unique())
    assert buurten_per_wijk["Buurt2025"].is_between(3, 8).all()
    others = table.filter(pl.col("Gemeente2025") != "0479")
    assert {"0363", "0431", "0880"} <= set(others["Gemeente2025"])
    assert (
        others.filter(pl.col("Gemeente2025") == "0363")["Buurt2025"]
        .str.contains(r"^0363[A-Z]{2}\d{2}$")
        .all()
    )
    assert (others["Wijk2025"].str.slice(0, 4) == others["Gemeente2025"]).all()
    # A PC6 belongs to one gemeente only.
    assert table.group_by("PC6").agg(pl.col("Gemeente2025").n_unique())["Gemeente2025"].max() == 1


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_dwellings_per_wijk_follow_woningvoorraad(scale: float) -> None:
    wijken = load_wijken()
    zaanstad, others, _, _ = generate_dwellings(np.random.default_rng(3), geography(), scale)
    counts = Counter(zaanstad.wijk.tolist())
    assert {w.code[2:]: round(w.woningen * scale) for w in wijken} == dict(counts)
    keys = list(
        zip(
            zaanstad.pc6, zaanstad.huisnummer, zaanstad.huisletter, zaanstad.toevoeging, strict=True
        )
    )
    assert len(set(keys)) == len(keys), "no two dwellings share a canonical address"
    assert "I" not in set(zaanstad.huisletter.tolist())
    assert set(zaanstad.toevoeging.tolist()) <= {"", "1", "2", "3", "BIS"}
    assert 0.07 < (zaanstad.huisletter != "").mean() < 0.13
    assert 0.05 < (zaanstad.toevoeging != "").mean() < 0.11
    assert (zaanstad.toevoeging == "BIS").sum() > 0
    assert len(others) > 0 and set(others.gemeente.tolist()) == {"0363", "0431", "0880"}


def test_wijken_reference_copies_and_scales(
    full: tuple[Path, SynthSummary], small: tuple[Path, SynthSummary]
) -> None:
    root, summary = full
    bundled = Path(__file__).parents[1] / "factlab" / "data" / "cbs"
    assert (root / "referentie" / "wijken.csv").read_bytes() == (
        bundled / "zaanstad_wijken_2024_kwb.csv"
    ).read_bytes()
    assert (root / "referentie" / "wijken.geojson").read_bytes() == (
        bundled / "zaanstad_wijken_2024.geojson"
    ).read_bytes()
    assert summary.n_dwellings == 70_945
    small_root, small_summary = small
    scaled = pl.read_csv(small_root / "referentie" / "wijken.csv", separator=";")
    expected = {w.code: round(w.woningen * SMALL) for w in load_wijken()}
    assert dict(zip(scaled["statcode"], scaled["woningvoorraad_2024"], strict=True)) == expected
    assert small_summary.n_dwellings == sum(expected.values())


# --------------------------------------------------------------------------- uploads and config


def test_uploads_exercise_the_delivery_format(full: tuple[Path, SynthSummary]) -> None:
    root, summary = full
    uploads = root / "uploads"
    orgs = [p for p in uploads.iterdir() if p.is_dir()]
    assert len(orgs) >= 8 and summary.n_organisations == len(orgs)
    files = sorted(p for p in uploads.rglob("*") if p.is_file())
    assert summary.n_files == len(files) == len(summary.uploads)
    assert any(len(list(o.iterdir())) == 2 for o in orgs)
    assert all(1 <= len(list(o.iterdir())) <= 2 for o in orgs)
    kinds: Counter[str] = Counter()
    delimiters: set[str] = set()
    for path in files:
        data = path.read_bytes()
        if data.startswith(b"PK\x03\x04"):
            kinds["xlsx"] += 1
            continue
        if data.startswith(b"\xef\xbb\xbf"):
            kinds["bom"] += 1
        else:
            try:
                data.decode("utf-8")
                kinds["utf8"] += 1
            except UnicodeDecodeError:
                data.decode("cp1252")
                kinds["cp1252"] += 1
        header, _ = _read_upload(path)
        first = data.decode("latin-1").split("\n", 1)[0]
        delimiters.add(max((";", ",", "\t"), key=first.count))
        keys = {_header_key(h) for h in header}
        assert len(header) >= 4 and len(keys) == len(header)
    assert kinds["xlsx"] >= 1 and kinds["bom"] >= 1 and kinds["cp1252"] >= 1
    assert delimiters == {";", ",", "\t"}


def test_config_parses_and_maps_onto_the_catalogue(full: tuple[Path, SynthSummary]) -> None:
    root, summary = full
    config = tomllib.loads(summary.config.read_text(encoding="utf-8"))
    assert config["editie"] == {
        "gemeente": "GM0479",
        "gemeentenaam": "Zaanstad",
        "periode": f"{PERIOD_START.isoformat()}:{PERIOD_END.isoformat()}",
    }
    for key in ("adressen", "wijken", "kaart"):
        assert (root / config["referentie"][key]).is_file()
    catalogue = catalogue_domains()
    partners = config["partners"]
    orgs = {p.name for p in (root / "uploads").iterdir()}
    assert set(partners) == orgs
    with_columns = with_codes = 0
    for org, section in partners.items():
        assert section["naam"]
        kolommen = section.get("kolommen", {})
        codes = section.get("codes", {})
        with_columns += bool(kolommen)
        with_codes += bool(codes)
        assert set(kolommen.values()) <= CANONICAL
        assert set(codes.values()) <= set(catalogue)
        for path in (root / "uploads" / org).iterdir():
            header, rows = _read_upload(path)
            mapping = {_header_key(k): v for k, v in kolommen.items()}
            assert {_header_key(k) for k in kolommen} <= {_header_key(h) for h in header}
            mapped = [mapping.get(_header_key(h), _header_key(h)) for h in header]
            assert {"postcode", "huisnummer", "voorziening"} <= set(mapped)
            code_col = mapped.index("voorziening")
            written = Counter(str(r[code_col]) for r in rows)
            known = {c for c in written if c in catalogue or c in codes}
            # Only the planted unknown codes (invalid rows) fall outside catalogue + mapping.
            assert sum(n for c, n in written.items() if c not in known) <= 0.02 * len(rows)
            if codes:
                assert set(codes) <= set(written)
    assert with_columns >= 2 and with_codes >= 2


def test_partners_write_address_variants(full: tuple[Path, SynthSummary]) -> None:
    root, _ = full
    numbers: list[str] = []
    postcodes: list[str] = []
    dates: list[str] = []
    for path in (root / "uploads").rglob("*"):
        if not path.is_file():
            continue
        header, rows = _read_upload(path)
        keys = [_header_key(h) for h in header]
        nr_col = keys.index("huisnummer") if "huisnummer" in keys else keys.index("nr")
        pc_col = keys.index("postcode") if "postcode" in keys else keys.index("pc")
        numbers += [str(r[nr_col]) for r in rows]
        postcodes += [str(r[pc_col]) for r in rows]
        dates += [str(c) for r in rows for c in r if isinstance(c, str) and "-20" in c]

    def some(values: list[str], pattern: str) -> bool:
        return any(re.fullmatch(pattern, v) for v in values)

    for pattern in (
        r"\d+[a-d]",
        r"\d+ [A-D]",
        r"\d+-[A-D]",
        r"\d+-[123]",
        r"\d+ [123]",
        r"\d+-1hg",
        r"\d+ I",
        r"\d+ II",
        r"\d+ bis",
        r"\d+-BIS",
        r"\d+[a-d]-[123]",
        r"Postbus \d+",
        "0",
    ):
        assert some(numbers, pattern), pattern
    for pattern in (r"\d{4}[A-Z]{2}", r"\d{4} [A-Z]{2}", r"\d{4}[a-z]{2}", r"\s+\S+\s*"):
        assert some(postcodes, pattern), pattern
    assert some(dates, r"\d{2}-\d{2}-20\d{2}")  # one partner writes dd-mm-yyyy


# --------------------------------------------------------------------------- truth


def test_receipts_add_up_and_match_the_files(full: tuple[Path, SynthSummary]) -> None:
    root, _ = full
    receipts = json.loads((root / "waarheid" / "bestanden.json").read_text(encoding="utf-8"))
    uploads = {f"{p.parent.name}/{p.name}": p for p in (root / "uploads").rglob("*") if p.is_file()}
    assert set(receipts) == set(uploads)
    for label, r in receipts.items():
        _, rows = _read_upload(uploads[label])
        assert r["rijen_gelezen"] == len(rows), label
        seen: set[tuple[object, ...]] = set()
        repeats = 0
        for row in rows:
            repeats += row in seen
            seen.add(row)
        assert r["dubbel"] == repeats, label
        assert r["geaccepteerd"] == (
            r["rijen_gelezen"] - r["dubbel"] - r["afgewezen"] - r["buiten_periode"]
        )
        assert r["geaccepteerd"] == r["geplaatst"] + r["niet_geplaatst"] + r["buiten_gemeente"]
        rejected = r["afgewezen_rijen"]
        assert len(rejected) == r["afgewezen"] and rejected == sorted(set(rejected))
        assert all(2 <= n <= r["rijen_gelezen"] + 1 for n in rejected)
        assert 0 < r["afgewezen"] <= 0.02 * r["rijen_gelezen"], label
        assert r["dubbel"] > 0 and r["buiten_periode"] > 0, label
    totals = Counter()
    for r in receipts.values():
        totals.update({k: v for k, v in r.items() if isinstance(v, int)})
    assert totals["niet_geplaatst"] > 0 and totals["buiten_gemeente"] > 0


def test_truth_households_are_consistent(full: tuple[Path, SynthSummary]) -> None:
    root, summary = full
    truth = _truth(root)
    assert summary.n_households_with_provision == truth.height
    assert truth.select(
        pl.struct("postcode", "huisnummer", "huisletter", "toevoeging").is_unique().all()
    ).item()
    assert set(truth["status"].unique()) == {"geplaatst", "onbekend", "buiten_gemeente"}
    catalogue = catalogue_domains()
    for row in truth.iter_rows(named=True):
        assert row["voorzieningen"] and row["voorzieningen"] == sorted(set(row["voorzieningen"]))
        assert row["domeinen"] == sorted({catalogue[c] for c in row["voorzieningen"]})
        assert row["organisaties"] == sorted(set(row["organisaties"]))
    ref = pl.read_csv(root / "referentie" / "pc6hnr.csv", separator=";", infer_schema=False)
    ref = ref.with_columns(pl.col("Huisnummer").cast(pl.Int64))
    placed = truth.join(
        ref, left_on=["postcode", "huisnummer"], right_on=["PC6", "Huisnummer"], how="left"
    )
    geplaatst = placed.filter(pl.col("status") == "geplaatst")
    assert (geplaatst["Gemeente2025"] == "0479").all()
    assert (geplaatst["buurt_code"] == "BU" + geplaatst["Buurt2025"]).all()
    assert (geplaatst["wijk_code"] == "WK" + geplaatst["Wijk2025"]).all()
    onbekend = placed.filter(pl.col("status") == "onbekend")
    assert onbekend.height > 0 and onbekend["Gemeente2025"].is_null().all()
    assert (onbekend["wijk_code"] == "onbekend").all() and onbekend["buurt_code"].is_null().all()
    buiten = placed.filter(pl.col("status") == "buiten_gemeente")
    assert buiten.height > 0 and (buiten["Gemeente2025"] != "0479").all()
    assert buiten["wijk_code"].is_null().all() and buiten["buurt_code"].is_null().all()
    assert (root / "waarheid" / "README.md").read_text(encoding="utf-8").strip()


# --------------------------------------------------------------------------- calibration


def _placed_profile(root: Path) -> pl.DataFrame:
    return (
        _truth(root)
        .filter(pl.col("status") == "geplaatst")
        .with_columns(
            J=pl.col("domeinen").list.contains("jeugd"),
            W=pl.col("domeinen").list.contains("wmo"),
            P=pl.col("domeinen").list.contains("participatie"),
            k=pl.col("voorzieningen").list.len(),
        )
    )


def test_calibration_matches_published_figures(full: tuple[Path, SynthSummary]) -> None:
    root, summary = full
    hh = _placed_profile(root)
    assert 0.15 <= hh.height / summary.n_dwellings <= 0.20
    jwp = hh.filter(pl.col("J") | pl.col("W") | pl.col("P"))
    shares = {
        (int(j), int(w), int(p)): n / jwp.height
        for j, w, p, n in jwp.group_by("J", "W", "P").len().iter_rows()
    }
    target_sum = sum(s for _, s in JWP_COMBOS)
    for combo, target in JWP_COMBOS:
        assert shares[combo] == pytest.approx(target / target_sum, abs=0.02), combo
    by_k = hh["k"].clip(upper_bound=4).value_counts().sort("k")
    share_k = dict(zip(by_k["k"], by_k["count"] / hh.height, strict=True))
    assert share_k[1] == pytest.approx(0.457, abs=0.05)
    assert share_k[2] == pytest.approx(0.255, abs=0.04)
    assert share_k[3] == pytest.approx(0.133, abs=0.04)
    assert share_k[4] == pytest.approx(0.156, abs=0.04)


def test_use_is_correlated_within_households(full: tuple[Path, SynthSummary]) -> None:
    root, summary = full
    hh = _placed_profile(root).with_columns(
        bij=pl.col("voorzieningen").list.contains("PW-BIJ"),
        minima=pl.col("domeinen").list.contains("minima"),
        vve=pl.col("voorzieningen").list.contains("OND-VVE"),
        shv=pl.col("domeinen").list.contains("schuldhulp"),
    )
    n = summary.n_dwellings
    p_w = hh["W"].sum() / n
    assert hh.filter("P")["W"].mean() > 2 * p_w
    assert hh.filter("minima")["bij"].mean() > 0.5
    assert hh.filter("vve")["J"].mean() > 2 * hh["J"].sum() / n
    assert hh.filter("P")["shv"].mean() > 2 * hh["shv"].sum() / n


def test_vulnerable_wijken_use_more(full: tuple[Path, SynthSummary]) -> None:
    root, _ = full
    hh = _placed_profile(root)
    dwellings = {w.code: w.woningen for w in load_wijken()}
    rate = {code: n / dwellings[code] for code, n in hh.group_by("wijk_code").len().iter_rows()}
    high = ("WK047912", "WK047913", "WK047915")  # Poelenburg, Pelders/Hoornseveld, Kogerveld
    low = ("WK047981", "WK047972")  # Westzaan, Assendelft-Noord
    assert min(rate[c] for c in high) > 1.5 * max(rate[c] for c in low)


# --------------------------------------------------------------------------- any gemeente, any scale


def test_postcodes_never_run_out_before_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few PC6 per PC4 makes Zaanstad need ~800 PC4s: past the old 1510-1999 reserve, no
    StopIteration; only a scale that needs more than all PC4s is refused, in Dutch."""
    monkeypatch.setattr(synth.dwellings, "PC6_PER_PC4", 5)
    home, others, _, pc4s = generate_dwellings(np.random.default_rng(1), geography(), 1.0)
    assert len(pc4s) > 600 and max(pc4s) > 2000
    assert len(set(home.pc6.tolist()) & set(others.pc6.tolist())) == 0
    monkeypatch.setattr(synth.dwellings, "PC6_PER_PC4", 1)
    with pytest.raises(FactlabError, match="--scale 3 is te groot"):
        generate_dwellings(np.random.default_rng(1), geography(), 3.0)


def test_unknown_gemeente_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(FactlabError, match="GM9999 staat niet in de CBS-kerncijfers"):
        synthesise(tmp_path / "x", gemeente="GM9999")
    assert not (tmp_path / "x").exists()


def test_amsterdam_codes_are_alphanumeric(tmp_path: Path) -> None:
    synthesise(tmp_path, seed=2, scale=0.005, gemeente="GM0363")
    table = pl.read_csv(tmp_path / "referentie" / "pc6hnr.csv", separator=";", infer_schema=False)
    own = table.filter(pl.col("Gemeente2025") == "0363")
    assert own["Wijk2025"].str.contains(r"^0363[A-Z]{2}$").all()
    assert own["Buurt2025"].str.contains(r"^0363[A-Z]{2}\d{2}$").all()
    truth = _truth(tmp_path).filter(pl.col("status") == "geplaatst")
    assert truth["wijk_code"].str.contains(r"^WK0363[A-Z]{2}$").all()
    assert truth["buurt_code"].str.contains(r"^BU0363[A-Z]{2}\d{2}$").all()
    config = tomllib.loads((tmp_path / "factlab.toml").read_text(encoding="utf-8"))
    assert config["editie"]["gemeente"] == "GM0363"
    kaart = read_wijkkaart(tmp_path / "referentie" / "wijken.geojson", "GM0363")
    assert {f["properties"]["statcode"] for f in kaart["features"]} == {
        w.code for w in load_wijken("GM0363")
    }


def test_xlsx_deliveries_are_split_below_the_sheet_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 120
    monkeypatch.setattr(synth.writers, "XLSX_MAX_ROWS", limit)
    synthesise(tmp_path, seed=4, scale=SMALL)
    parts = sorted((tmp_path / "uploads" / "gemeente-werk-inkomen").iterdir())
    assert len(parts) > 2
    assert parts[0].name == "uitkeringen_2026.xlsx"
    assert {p.name for p in parts[1:]} == {
        f"uitkeringen_2026_deel{i}.xlsx" for i in range(2, len(parts) + 1)
    }
    receipts = json.loads((tmp_path / "waarheid" / "bestanden.json").read_text(encoding="utf-8"))
    for path in parts:
        _, rows = _read_upload(path)
        assert len(rows) + 1 <= limit
        assert receipts[f"gemeente-werk-inkomen/{path.name}"]["rijen_gelezen"] == len(rows)
