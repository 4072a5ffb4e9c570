"""Orchestration: generate the gemeente, hand each upload to the writers as soon as it is
built, and write reference data, config and ground truth (:func:`synthesise`)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from factlab.synth.calibration import VALID_LETTER_PAIRS, ZAANSTAD
from factlab.synth.dwellings import Dwellings, generate_dwellings, pc6hnr_frame
from factlab.synth.geography import Geography, catalogue_domains, catalogue_names, geography
from factlab.synth.model import generate_usage
from factlab.synth.partners import CODE_ORG, PARTNER_BY_ORG, PARTNERS, WIJKTEAM_BEG_SHARE
from factlab.synth.rows import Addresses, FileOut, Row, build_file, in_period_dates
from factlab.synth.writers import (
    excel_parts,
    map_bytes,
    part_name,
    render_config,
    wijken_csv,
    write_csv_upload,
    write_xlsx_upload,
)


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`synthesise` wrote."""

    out_dir: Path
    config: Path
    address_table: Path
    uploads: tuple[Path, ...]
    truth_households: Path
    truth_files: Path
    n_dwellings: int
    n_households_with_provision: int
    n_files: int
    n_organisations: int
    n_rows: int
    seed: int
    scale: float


def _extra_addresses(
    rng: np.random.Generator,
    home: Dwellings,
    others: Dwellings,
    used_pc6: set[str],
    own_pc4: list[int],
    n_onbekend: int,
    n_buiten: int,
) -> tuple[list[tuple[str, int, str, str]], np.ndarray]:
    """Valid addresses missing from pc6hnr, and indices of out-of-gemeente dwellings."""
    out: list[tuple[str, int, str, str]] = []
    seen: set[tuple[str, int]] = set()
    # Half: an existing PC6 of the gemeente with a huisnummer beyond its run.
    max_by_pc6 = dict(
        pl.DataFrame({"pc6": home.pc6, "nr": home.huisnummer})
        .group_by("pc6")
        .agg(pl.col("nr").max())
        .iter_rows()
    )
    picks = rng.integers(0, len(home), size=n_onbekend)
    for k, i in enumerate(picks):
        if k % 2 == 0:
            pc = str(home.pc6[i])
            key = (pc, max_by_pc6[pc] + int(rng.integers(60, 300)))
        else:  # a new-build postcode that is not in the table yet
            while True:
                pc4 = own_pc4[int(rng.integers(0, len(own_pc4)))]
                pc = f"{pc4}{VALID_LETTER_PAIRS[int(rng.integers(0, len(VALID_LETTER_PAIRS)))]}"
                if pc not in used_pc6:
                    break
            key = (pc, int(rng.integers(1, 80)))
        if key in seen:
            continue
        seen.add(key)
        letter = "A" if rng.random() < 0.1 else ""
        out.append((key[0], key[1], letter, ""))
    buiten = rng.choice(len(others), size=min(n_buiten, len(others)), replace=False)
    return out, np.sort(buiten)


def _generate(
    geo: Geography,
    seed: int,
    scale: float,
    progress: Callable[[str], None],
    emit: Callable[[FileOut], None],
) -> tuple[dict[str, Any], pl.DataFrame]:
    """All generation; returns reference tables and truth.

    Each upload file is handed to ``emit`` as soon as it is built and then forgotten (only its
    accepted rows are kept, as arrays), so memory does not grow with all files at once.
    """
    rng = np.random.default_rng(seed)
    r = random.Random(int(rng.integers(0, 2**63 - 1)))
    wijken = geo.wijken
    catalogue = catalogue_domains()
    names = catalogue_names()

    progress("adressen en buurten genereren")
    home, others, used_pc6, own_pc4 = generate_dwellings(rng, geo, scale)
    pc6hnr = pc6hnr_frame(Dwellings.concat([home, others]))
    generated = {w.code: int((home.wijk == w.code[2:]).sum()) for w in wijken}

    progress("voorzieningengebruik per huishouden trekken")
    wijk_pos = {w.code[2:]: i for i, w in enumerate(wijken)}
    wijk_index = np.array([wijk_pos[c] for c in home.wijk], dtype=np.int64)
    mu = np.array([geo.mu[w.code] for w in wijken])
    usage = generate_usage(rng, wijk_index, mu, catalogue)
    nu = len(usage.users)

    # Address table: own dwellings, then onbekend addresses, then out-of-gemeente dwellings.
    n_z = len(home)
    onbekend, buiten_idx = _extra_addresses(
        rng,
        home,
        others,
        used_pc6,
        own_pc4,
        max(4, round(0.004 * nu)),
        max(6, round(0.012 * nu)),
    )
    n_onb, n_out = len(onbekend), len(buiten_idx)
    addrs = Addresses(
        pc6=np.concatenate([home.pc6, [a[0] for a in onbekend], others.pc6[buiten_idx]]),
        hnr=np.concatenate(
            [home.huisnummer, [a[1] for a in onbekend], others.huisnummer[buiten_idx]]
        ).astype(np.int64),
        letter=np.concatenate(
            [home.huisletter, [a[2] for a in onbekend], others.huisletter[buiten_idx]]
        ),
        toev=np.concatenate(
            [home.toevoeging, [a[3] for a in onbekend], others.toevoeging[buiten_idx]]
        ),
        status=np.repeat(
            np.array(["geplaatst", "onbekend", "buiten_gemeente"]), [n_z, n_onb, n_out]
        ),
        buurt=np.concatenate(
            [np.char.add("BU", home.buurt).astype(object), np.full(n_onb + n_out, None)]
        ),
        wijk=np.concatenate(
            [
                np.char.add("WK", home.wijk).astype(object),
                np.full(n_onb, "onbekend", dtype=object),
                np.full(n_out, None),
            ]
        ),
    )

    # Episodes: (address, code) for the gemeente's users, plus 1-2 codes for the extra households.
    u_idx, c_idx = np.nonzero(usage.matrix)
    ep_addr = usage.users[u_idx]
    ep_code = np.array(usage.codes)[c_idx]
    n_extra = len(onbekend) + len(buiten_idx)
    freq = usage.matrix.sum(axis=0).astype(float)
    extra_addr: list[int] = []
    extra_code: list[str] = []
    for k in range(n_extra):
        m = 1 + int(rng.random() < 0.35)
        for ci in rng.choice(len(usage.codes), size=m, replace=False, p=freq / freq.sum()):
            extra_addr.append(n_z + k)
            extra_code.append(usage.codes[ci])
    ep_addr = np.concatenate([ep_addr, np.array(extra_addr, dtype=np.int64)])
    ep_code = np.concatenate([ep_code, np.array(extra_code, dtype=ep_code.dtype)])
    start, end = in_period_dates(rng, len(ep_addr))
    ep_org = np.array([CODE_ORG[c] for c in ep_code])
    beg = (ep_code == "WMO-BEG") & (rng.random(len(ep_code)) < WIJKTEAM_BEG_SHARE)
    ep_org[beg] = "sociaal-wijkteam"

    progress("partnerbestanden opbouwen")
    addr_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    org_parts: list[np.ndarray] = []
    for partner in PARTNERS:
        sel = np.flatnonzero(ep_org == partner.org)
        has_end = partner.has("einddatum")
        ok = [
            Row(
                "ok",
                int(ep_addr[i]),
                str(ep_code[i]),
                int(start[i]),
                int(end[i]) if has_end else -1,
            )
            for i in sel
        ]
        own: dict[str, list[str]] = {}
        for pc, cat in partner.codes.items():
            own.setdefault(cat, []).append(pc)
        if len(partner.files) == 1:
            split = [ok]
        else:  # two quarters: most provisions in one, some still running in both
            which = rng.random(len(ok))
            split = [
                [row for row, x in zip(ok, which, strict=True) if x < 0.70],
                [row for row, x in zip(ok, which, strict=True) if x >= 0.55],
            ]
        files = list(zip(partner.files, split, strict=True))
        if partner.kind == "xlsx":
            files = [
                (part_name(name, i), part)
                for name, rows in files
                for i, part in enumerate(excel_parts(rows))
            ]
        for name, part in files:
            f = build_file(rng, r, partner, name, part, addrs, n_z, names, own)
            emit(f)
            addr_parts.append(np.array([row.addr for row in f.accepted], dtype=np.int64))
            code_parts.append(np.array([row.code for row in f.accepted], dtype=object))
            org_parts.append(np.full(len(f.accepted), f.org, dtype=object))
            del f

    progress("waarheid afleiden")
    acc_addr = np.concatenate(addr_parts)
    acc_code = np.concatenate(code_parts)
    acc_org = np.concatenate(org_parts)
    accepted = pl.DataFrame(
        {
            "postcode": addrs.pc6[acc_addr],
            "huisnummer": addrs.hnr[acc_addr],
            "huisletter": addrs.letter[acc_addr],
            "toevoeging": addrs.toev[acc_addr],
            "status": addrs.status[acc_addr],
            "buurt_code": addrs.buurt[acc_addr],
            "wijk_code": addrs.wijk[acc_addr],
            "voorziening": acc_code,
            "domein": np.array([catalogue[c] for c in acc_code], dtype=object),
            "organisatie": acc_org,
        },
        schema={
            "postcode": pl.String,
            "huisnummer": pl.Int64,
            "huisletter": pl.String,
            "toevoeging": pl.String,
            "status": pl.String,
            "buurt_code": pl.String,
            "wijk_code": pl.String,
            "voorziening": pl.String,
            "domein": pl.String,
            "organisatie": pl.String,
        },
    )
    key = ["postcode", "huisnummer", "huisletter", "toevoeging"]
    truth = (
        accepted.group_by(key, maintain_order=True)
        .agg(
            pl.col("status").first(),
            pl.col("buurt_code").first(),
            pl.col("wijk_code").first(),
            pl.col("voorziening").unique().sort().alias("voorzieningen"),
            pl.col("domein").unique().sort().alias("domeinen"),
            pl.col("organisatie").unique().sort().alias("organisaties"),
        )
        .sort(key)
    )
    reference = {"pc6hnr": pc6hnr, "wijken": wijken, "generated": generated, "n_dwellings": n_z}
    return reference, truth


def synthesise(
    out_dir: Path,
    *,
    seed: int = 2026,
    scale: float = 1.0,
    gemeente: str = ZAANSTAD,
    progress: Callable[[str], None] | None = None,
) -> SynthSummary:
    """Write a complete synthetic edition for ``gemeente`` (default Zaanstad) under ``out_dir``.

    Writes ``referentie/`` (pc6hnr, wijken csv + geojson), ``uploads/<organisatie>/``,
    ``factlab.toml`` and ``waarheid/`` (ground truth for tests). The same ``seed``, ``scale``
    and ``gemeente`` give byte-identical files; ``scale`` multiplies the number of dwellings.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    geo = geography(gemeente, np.random.default_rng([seed, 1]))
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    ref_dir = out_dir / "referentie"
    up_dir = out_dir / "uploads"
    truth_dir = out_dir / "waarheid"
    for d in (ref_dir, up_dir, truth_dir):
        d.mkdir(parents=True, exist_ok=True)

    upload_paths: list[Path] = []
    receipts: dict[str, Any] = {}
    n_rows = 0

    def write_upload(f: FileOut) -> None:
        nonlocal n_rows
        partner = PARTNER_BY_ORG[f.org]
        folder = up_dir / f.org
        folder.mkdir(exist_ok=True)
        path = folder / f.name
        if partner.kind == "xlsx":
            write_xlsx_upload(path, partner, f)
        else:
            write_csv_upload(path, partner, f)
        upload_paths.append(path)
        receipts[f"{f.org}/{f.name}"] = f.receipt
        n_rows += len(f.cells)

    reference, truth = _generate(geo, seed, scale, say, write_upload)

    say("referentie en waarheid schrijven")
    pc6hnr_path = ref_dir / "pc6hnr.csv"
    reference["pc6hnr"].write_csv(pc6hnr_path, separator=";")
    (ref_dir / "wijken.csv").write_bytes(wijken_csv(geo, reference["generated"], scale))
    (ref_dir / "wijken.geojson").write_bytes(map_bytes(geo))

    config_path = out_dir / "factlab.toml"
    config_path.write_text(render_config(geo), encoding="utf-8")

    truth_path = truth_dir / "huishoudens.parquet"
    truth.write_parquet(truth_path, statistics=False)
    files_path = truth_dir / "bestanden.json"
    files_path.write_text(
        json.dumps(receipts, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (truth_dir / "README.md").write_text(
        "Synthetische grondwaarheid (synthetic ground truth) bij deze demo-editie: alleen voor tests.\n",
        encoding="utf-8",
    )
    return SynthSummary(
        out_dir=out_dir,
        config=config_path,
        address_table=pc6hnr_path,
        uploads=tuple(upload_paths),
        truth_households=truth_path,
        truth_files=files_path,
        n_dwellings=int(reference["n_dwellings"]),
        n_households_with_provision=truth.height,
        n_files=len(upload_paths),
        n_organisations=len({p.parent.name for p in upload_paths}),
        n_rows=n_rows,
        seed=seed,
        scale=scale,
    )
