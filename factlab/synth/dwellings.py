"""Dwellings: every address of the gemeente (PC6, huisnummer, letter, toevoeging) in its wijk
and buurt, plus addresses outside it, and the CBS postcode-huisnummer table made of them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from factlab.errors import FactlabError
from factlab.synth.calibration import OTHER_AREAS, OTHER_PC4, SLOT_TEMPLATES, VALID_LETTER_PAIRS
from factlab.synth.geography import Geography, pc4_pool

# Postcodes per PC4 before a wijk takes the next PC4 from the pool.
PC6_PER_PC4 = 450


def largest_remainder(total: int, shares: Sequence[float] | np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``shares`` (Hamilton's method)."""
    p = np.asarray(shares, dtype=float)
    p = p / p.sum()
    raw = p * total
    out = np.floor(raw).astype(np.int64)
    rest = int(total - out.sum())
    if rest > 0:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:rest]] += 1
    return out


@dataclass
class Dwellings:
    """Column arrays of generated dwellings (one household each)."""

    pc6: np.ndarray  # str
    huisnummer: np.ndarray  # int64
    huisletter: np.ndarray  # str
    toevoeging: np.ndarray  # str
    buurt: np.ndarray  # str, 8 chars without prefix
    wijk: np.ndarray  # str, 6 chars without prefix
    gemeente: np.ndarray  # str, 4 chars

    def __len__(self) -> int:
        return len(self.pc6)

    @staticmethod
    def concat(parts: Sequence[Dwellings]) -> Dwellings:
        """Concatenate column-wise."""
        names = ("pc6", "huisnummer", "huisletter", "toevoeging", "buurt", "wijk", "gemeente")
        return Dwellings(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


_T_WEIGHTS = np.array([w for w, _ in SLOT_TEMPLATES])
_T_WEIGHTS = _T_WEIGHTS / _T_WEIGHTS.sum()
_T_SIZES = np.array([len(t) for _, t in SLOT_TEMPLATES])
_T_OFFSETS = np.concatenate([[0], np.cumsum(_T_SIZES)[:-1]])
_T_LETTERS = np.array([lt for _, t in SLOT_TEMPLATES for lt, _ in t])
_T_TOEVS = np.array([tv for _, t in SLOT_TEMPLATES for _, tv in t])


def _area_dwellings(
    rng: np.random.Generator,
    buurt_counts: Sequence[int] | np.ndarray,
    buurt_codes: Sequence[str],
    wijk_code: str,
    gemeente: str,
    pc4s: Callable[[int], list[int]],
    used_pc6: set[str],
) -> Dwellings:
    """Dwellings for one wijk: slots (huisnummers) grouped into PC6 runs, per buurt."""
    pc6_local: list[np.ndarray] = []
    hnr: list[np.ndarray] = []
    letters: list[np.ndarray] = []
    toevs: list[np.ndarray] = []
    buurten: list[np.ndarray] = []
    n_pc6_total = 0
    for n_b, b_code in zip(buurt_counts, buurt_codes, strict=True):
        n_b = int(n_b)
        if n_b == 0:
            continue
        tmpl = rng.choice(len(_T_WEIGHTS), size=n_b, p=_T_WEIGHTS)
        sizes = _T_SIZES[tmpl]
        n_slots = int(np.searchsorted(np.cumsum(sizes), n_b)) + 1
        tmpl, sizes = tmpl[:n_slots], sizes[:n_slots]
        slot_of = np.repeat(np.arange(n_slots), sizes)[:n_b]
        slot_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        pos = np.arange(n_b) - slot_start[slot_of]
        flat = _T_OFFSETS[tmpl[slot_of]] + pos
        letters.append(_T_LETTERS[flat])
        toevs.append(_T_TOEVS[flat])
        # Slots per PC6: a street segment of 6..26 huisnummers.
        per_pc6 = rng.integers(6, 27, size=n_slots)
        cs = np.cumsum(per_pc6)
        n_pc6 = int(np.searchsorted(cs, n_slots)) + 1
        pc6_of_slot = np.repeat(np.arange(n_pc6), per_pc6[:n_pc6])[:n_slots]
        pc6_start = np.concatenate([[0], cs[: n_pc6 - 1]])
        idx_in_pc6 = np.arange(n_slots) - pc6_start[pc6_of_slot]
        first = rng.integers(1, 120, size=n_pc6)
        step = rng.choice(np.array([1, 2]), size=n_pc6, p=[0.4, 0.6])
        slot_nr = first[pc6_of_slot] + step[pc6_of_slot] * idx_in_pc6
        hnr.append(slot_nr[slot_of])
        pc6_local.append(pc6_of_slot[slot_of] + n_pc6_total)
        buurten.append(np.full(n_b, b_code))
        n_pc6_total += n_pc6
    if n_pc6_total == 0:
        empty = np.array([], dtype=str)
        return Dwellings(empty, np.array([], dtype=np.int64), empty, empty, empty, empty, empty)
    # Postcodes: as few PC4s as capacity allows, letters a sorted random subset per PC4.
    n_pc4 = -(-n_pc6_total // PC6_PER_PC4)
    pc4_list = pc4s(n_pc4)
    per_pc4 = largest_remainder(n_pc6_total, np.ones(n_pc4))
    codes: list[str] = []
    for pc4, k in zip(pc4_list, per_pc4, strict=True):
        pick = np.sort(rng.choice(len(VALID_LETTER_PAIRS), size=int(k), replace=False))
        codes.extend(f"{pc4}{VALID_LETTER_PAIRS[i]}" for i in pick)
    used_pc6.update(codes)
    pc6_arr = np.array(codes)[np.concatenate(pc6_local)]
    n = len(pc6_arr)
    return Dwellings(
        pc6=pc6_arr,
        huisnummer=np.concatenate(hnr).astype(np.int64),
        huisletter=np.concatenate(letters),
        toevoeging=np.concatenate(toevs),
        buurt=np.concatenate(buurten),
        wijk=np.full(n, wijk_code),
        gemeente=np.full(n, gemeente),
    )


def other_areas(
    geo: Geography,
) -> tuple[tuple[str, str, tuple[str, ...], tuple[int, ...], int], ...]:
    """The neighbouring areas (never the gemeente itself) whose addresses are buiten gemeente."""
    return tuple(area for area in OTHER_AREAS if area[0] != geo.digits)


def generate_dwellings(
    rng: np.random.Generator, geo: Geography, scale: float
) -> tuple[Dwellings, Dwellings, set[str], list[int]]:
    """The gemeente's dwellings, those in neighbouring gemeenten, used PC6s and own PC4s."""
    taken = OTHER_PC4 | {n for pc4s in geo.base_pc4.values() for n in pc4s}
    pool = pc4_pool(geo.pc4_start, taken)
    used_pc6: set[str] = set()
    own_pc4: list[int] = []
    parts: list[Dwellings] = []

    def more_pc4(k: int) -> list[int]:
        out = list(itertools.islice(pool, k))
        if len(out) < k:
            raise FactlabError(
                f"--scale {scale:g} is te groot voor deze gemeente: er zijn niet genoeg "
                "postcodes (PC4) voor zoveel woningen"
            )
        return out

    for wijk in geo.wijken:
        n_w = round(wijk.woningen * scale)
        n_buurten = int(rng.integers(3, 9))
        counts = largest_remainder(n_w, rng.dirichlet(np.full(n_buurten, 4.0)))
        wijk6 = wijk.code[2:]
        base = list(geo.base_pc4.get(wijk.code, ()))

        def pc4s(k: int, base: list[int] = base) -> list[int]:
            out = base[:k] + more_pc4(max(0, k - len(base)))
            own_pc4.extend(out)
            return out

        parts.append(
            _area_dwellings(
                rng,
                counts,
                [f"{wijk6}{i + 1:02d}" for i in range(n_buurten)],
                wijk6,
                geo.digits,
                pc4s,
                used_pc6,
            )
        )
    home = Dwellings.concat(parts)
    others: list[Dwellings] = []
    for gemeente, wijk6, buurt_codes, pc4_tuple, n_base in other_areas(geo):
        n = max(30, round(n_base * scale))
        counts = largest_remainder(n, np.ones(len(buurt_codes)))

        def fixed(k: int, pc4_tuple: tuple[int, ...] = pc4_tuple) -> list[int]:
            return [pc4_tuple[i % len(pc4_tuple)] for i in range(k)]

        # Two areas may share a PC4 (none do now); keep PC6 sets disjoint by construction.
        others.append(_area_dwellings(rng, counts, buurt_codes, wijk6, gemeente, fixed, used_pc6))
    return home, Dwellings.concat(others), used_pc6, sorted(set(own_pc4))


def pc6hnr_frame(dwellings: Dwellings) -> pl.DataFrame:
    """The CBS postcode-huisnummer table: one row per (PC6, huisnummer), sorted."""
    return (
        pl.DataFrame(
            {
                "PC6": dwellings.pc6,
                "Huisnummer": dwellings.huisnummer,
                "Buurt2025": dwellings.buurt,
                "Wijk2025": dwellings.wijk,
                "Gemeente2025": dwellings.gemeente,
            },
            schema={
                "PC6": pl.String,
                "Huisnummer": pl.Int64,
                "Buurt2025": pl.String,
                "Wijk2025": pl.String,
                "Gemeente2025": pl.String,
            },
        )
        .unique(subset=["PC6", "Huisnummer"], keep="first", maintain_order=True)
        .sort("PC6", "Huisnummer")
    )
