"""Differencing: two editions of one period that differ by a few households (one late client,
one late delivery) must not locate those households; the check refuses such a pair, and lets a
pair through once the difference is large enough to hide in the rounding."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from attacker import EDITIONS
from households_factory import households

from factlab.difference import changed_households, check_difference
from factlab.disclose import DEFAULT_RULES
from factlab.publish import table_csv
from factlab.schemas.tables import TABLE_FOLDER

SPEC = EDITIONS["klein"]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    """The previous edition as released: its tables folder and its household table."""
    folder = tmp_path_factory.mktemp("vorige") / TABLE_FOLDER
    folder.mkdir()
    base = SPEC.households()
    for name, frame in SPEC.publish(hh=base).tables.items():
        (folder / f"{name}.csv").write_text(table_csv(frame), encoding="utf-8")
    return folder, base


def _check(published, new_households: pl.DataFrame) -> list[str]:
    folder, base = published
    return check_difference(
        folder, base, SPEC.publish(hh=new_households), new_households, DEFAULT_RULES
    )


def test_one_added_household_is_located_and_refused(published) -> None:
    _, base = published
    client = households(99, 1, SPEC.area(), p_onbekend=0.0)
    problems = _check(published, pl.concat([base, client]))
    wijk = client.get_column("wijk_code")[0]
    assert any(wijk in p and "bijgekomen" in p for p in problems), problems


def test_one_late_delivery_is_refused(published) -> None:
    """A partner delivering late: five clients of one organisation appear in the new edition."""
    _, base = published
    late = households(98, 5, SPEC.area()).with_columns(
        organisaties=pl.lit(["humanitas"]), aantal_organisaties=pl.lit(1, pl.UInt32)
    )
    assert _check(published, pl.concat([base, late]))


def test_a_removed_household_is_refused_too(published) -> None:
    _, base = published
    problems = _check(published, base.slice(1))
    assert problems and all("verdwenen" in p for p in problems)


def test_a_large_difference_hides_in_the_rounding(published) -> None:
    _, base = published
    assert _check(published, pl.concat([base, households(97, 60, SPEC.area())])) == []


def test_the_same_households_are_no_difference(published) -> None:
    _, base = published
    assert changed_households(base, base.reverse()) == (0, 0)
    assert _check(published, base.reverse()) == []


def test_messages_name_cells_not_counts(published) -> None:
    _, base = published
    for problem in _check(published, base.slice(1)):
        assert problem.startswith("cel ") and "1 tot 7" in problem
