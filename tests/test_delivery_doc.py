"""Every promise of the delivery format is kept: its examples are read from the document itself.

``docs/aanleverformaat.md`` holds its examples in tables (dates, numbers, addresses, encodings,
separators, line endings, limits, refusals, rejection rules); each test here reads one table and
checks that the code reads every example as the document says. So an example cannot be written
without the code that keeps it. Property tests (hypothesis) generate the documented forms.
"""

from __future__ import annotations

import codecs
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factlab import addresses
from factlab.catalogue import load_catalogue
from factlab.config import CANONICAL_COLUMNS, PartnerSettings
from factlab.connectors.limits import SETTINGS
from factlab.connectors.partner_files import (
    DEFAULT_LIMITS,
    LIMIT_ERRORS,
    REFUSALS,
    SOURCE_ROW,
    open_partner_file,
)
from factlab.intake import Upload, map_columns, open_delivery
from factlab.schemas.delivery import RULES_BY_CODE
from factlab.validate import TWO_DIGIT_YEAR_PIVOT, parse_date, validate

DOC = Path(__file__).resolve().parents[1] / "docs" / "aanleverformaat.md"
CODES = frozenset(load_catalogue().get_column("code"))
GOOD = {"postcode": "1503AB", "huisnummer": "12", "voorziening": "WMO-HH"}


def _cell(raw: str) -> str:
    """A table cell's value: the text inside backticks as written (spaces too), else stripped."""
    raw = raw.strip().replace("\\|", "|")
    one_span = raw.count("`") == 2 and raw[0] == raw[-1] == "`"
    return raw[1:-1] if one_span else raw


def _tables(text: str) -> dict[str, list[dict[str, str]]]:
    """The first table under each heading, as rows of {column: cell}."""
    found: dict[str, list[dict[str, str]]] = {}
    heading, lines = "", text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif (
            line.startswith("|")
            and i + 1 < len(lines)
            and lines[i + 1].startswith("|---")
            and heading not in found
        ):
            columns = [_cell(c) for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                cells = re.split(r"(?<!\\)\|", row)[1:-1]
                rows.append(dict(zip(columns, (_cell(c) for c in cells), strict=True)))
            found[heading] = rows
    return found


TABLES = _tables(DOC.read_text(encoding="utf-8"))


def _rows(heading: str) -> list[dict[str, str]]:
    rows = TABLES[heading]
    assert rows, heading
    return rows


def _dates(texts: list[str]) -> list[date | None]:
    frame = pl.DataFrame({"d": texts}, schema={"d": pl.String})
    return frame.select(parse_date(pl.col("d"))).to_series().to_list()


@pytest.mark.parametrize("row", _rows("Datums"), ids=lambda r: r["geschreven"])
def test_every_documented_date_form(row: dict[str, str]) -> None:
    expected = None if row["datum"] == "ongeldig" else date.fromisoformat(row["datum"])
    assert _dates([row["geschreven"]]) == [expected]


def test_the_issue_dates_are_documented_and_read() -> None:
    documented = {row["geschreven"] for row in _rows("Datums")}
    assert {"01-03-26", "1-3-26", "01/03/26", "01.03.26"} <= documented
    assert _dates(["01-03-26", "1-3-26", "01/03/26", "01.03.26"]) == [date(2026, 3, 1)] * 4


def _mapped(**cells: str) -> dict[str, str | None]:
    raw = pl.DataFrame({SOURCE_ROW: [2], **{k: [v] for k, v in (GOOD | cells).items()}})
    return map_columns(raw, PartnerSettings(naam="p")).row(0, named=True)


@pytest.mark.parametrize("row", _rows("Getallen als tekst"), ids=lambda r: r["geschreven"])
def test_numbers_written_as_text(row: dict[str, str]) -> None:
    assert _mapped(postcode=row["geschreven"])["postcode"] == row["gelezen als"]


def _address(postcode: str, number: str, letter: str, suffix: str) -> tuple[str, str, str, str]:
    frame = pl.DataFrame({"p": [postcode], "n": [number], "l": [letter], "t": [suffix]})
    nr, hl, tv = addresses.canonical_parts(pl.col("n"), pl.col("l"), pl.col("t"))
    parts = frame.select(
        addresses.postcode(pl.col("p")).alias("pc"),
        nr.cast(pl.String).alias("nr"),
        hl.alias("hl"),
        tv.alias("tv"),
    ).row(0)
    return tuple(str(p) for p in parts)  # type: ignore[return-value]


ADDRESSES = "Hoe adressen worden gelezen"


@pytest.mark.parametrize("row", _rows(ADDRESSES), ids=lambda r: "|".join(r[c] for c in list(r)[:4]))
def test_every_documented_address_spelling(row: dict[str, str]) -> None:
    written = (row["postcode"], row["huisnummer"], row["huisletter"], row["toevoeging"])
    read = tuple(
        row[f"gelezen {c}"] for c in ("postcode", "huisnummer", "huisletter", "toevoeging")
    )
    assert _address(*written) == read


def _sample(sep: str = ";", end: str = "\n") -> str:
    header = [*CANONICAL_COLUMNS, "opmerking"]
    rows = [["1503AB", str(n), "", "", "WMO-HH", "01-03-26", "", "Zoë"] for n in (1, 2, 3)]
    return "".join(sep.join(r) + end for r in [header, *rows])


def _read(path: Path) -> pl.DataFrame:
    delivery = open_delivery(Upload("p", path, ""), PartnerSettings(naam="p"))
    return pl.concat([mapped for _, mapped in delivery.batches()])


@pytest.mark.parametrize("row", _rows("Codering"), ids=lambda r: r["in het ontvangstbewijs"])
def test_every_documented_encoding(row: dict[str, str], tmp_path: Path) -> None:
    codec = row["in het ontvangstbewijs"]
    path = tmp_path / "a.csv"
    path.write_bytes(_sample().encode(codec))
    assert open_partner_file(path).describe()["codering"] == codec
    raw = pl.concat(open_partner_file(path).batches())
    assert raw["opmerking"].to_list() == ["Zoë"] * 3


@pytest.mark.parametrize("row", _rows("Scheidingsteken"), ids=lambda r: r["scheidingsteken"])
def test_every_documented_separator(row: dict[str, str], tmp_path: Path) -> None:
    shown = row["in het ontvangstbewijs"]
    path = tmp_path / "a.csv"
    path.write_text(_sample(sep="\t" if shown == "tab" else shown), encoding="utf-8")
    assert open_partner_file(path).describe()["scheidingsteken"] == shown
    assert _read(path)["huisnummer"].to_list() == ["1", "2", "3"]


ENDINGS = [codecs.decode(row["tekens"], "unicode_escape") for row in _rows("Regeleinde")]


@pytest.mark.parametrize("end", [*ENDINGS, "mixed"])
def test_every_documented_line_ending(end: str, tmp_path: Path) -> None:
    lines = _sample().splitlines()
    if end == "mixed":
        text = "".join(line + ENDINGS[i % len(ENDINGS)] for i, line in enumerate(lines))
    else:
        text = "".join(line + end for line in lines)
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode("utf-8"))
    mapped = _read(path)
    assert mapped["rij"].to_list() == [2, 3, 4]
    assert mapped["startdatum"].to_list() == ["01-03-26"] * 3


def _column_examples(column: str) -> list[str]:
    row = next(r for r in _rows("Kolommen") if r["kolom"] == column)
    return re.findall(r"`([^`]+)`", row["voorbeeld"]) or [row["voorbeeld"]]


def test_the_column_table_examples_are_valid_rows() -> None:
    examples = [
        GOOD | {column: value} for column in CANONICAL_COLUMNS for value in _column_examples(column)
    ]
    frame = pl.DataFrame(
        [{c: row.get(c, "") for c in CANONICAL_COLUMNS} for row in examples],
        schema=dict.fromkeys(CANONICAL_COLUMNS, pl.String),
    ).with_row_index("rij", offset=2)
    checked = validate(frame.cast({"rij": pl.Int64}), catalogue_codes=CODES, period=None)
    assert checked.rejections.height == 0
    assert checked.valid.height == len(examples) - checked.duplicates


REJECTIONS = "Regels waarop een regel wordt afgewezen"


@pytest.mark.parametrize(
    "row",
    [r for r in _rows(REJECTIONS) if "`" in r["wat is er mis"]],
    ids=lambda r: r["regel"],
)
def test_the_rejection_table_examples_break_their_rule(row: dict[str, str]) -> None:
    rule = RULES_BY_CODE[row["regel"]]
    for example in re.findall(r"`([^`]+)`", row["wat is er mis"]):
        frame = pl.DataFrame(
            [{c: (GOOD | {rule.column: example}).get(c, "") for c in CANONICAL_COLUMNS}],
            schema=dict.fromkeys(CANONICAL_COLUMNS, pl.String),
        ).with_columns(rij=pl.lit(2, dtype=pl.Int64))
        checked = validate(frame, catalogue_codes=CODES, period=None)
        assert (2, rule.column, rule.code) in set(checked.rejections.iter_rows()), example


def test_every_limit_is_documented_with_its_setting_default_and_message() -> None:
    rows = {row["instelling"]: row for row in _rows("Grenzen per bestand")}
    assert set(rows) == set(SETTINGS.values())
    for error in LIMIT_ERRORS:
        row = rows[SETTINGS[error.limit]]
        assert int(row["standaard"]) == getattr(DEFAULT_LIMITS, error.limit)
        assert row["melding"] == str(error.of(DEFAULT_LIMITS, rij="N", regel="N", tot="M"))


def test_every_refusal_is_documented_with_its_message() -> None:
    messages = {row["melding"] for row in _rows("Weigeringen")}
    for refusal in REFUSALS:
        assert str(refusal(rij="N", regel="N", tot="M")) in messages, refusal.__name__


def test_the_example_file_is_read_without_rejections(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"```csv\n(.*?)```", text, re.S)
    assert example is not None
    path = tmp_path / "voorbeeld.csv"
    path.write_text(example.group(1), encoding="utf-8")
    checked = validate(_read(path), catalogue_codes=CODES, period=None)
    assert (checked.rows_read, checked.rejected_rows) == (2, 0)


# --- Property tests: the documented forms, generated --------------------------------------

SEPARATORS = st.sampled_from("-/.")


@st.composite
def written_dates(draw: st.DrawFn) -> tuple[str, date]:
    """A date written in one of the documented forms, with the date it means."""
    form = draw(st.sampled_from(["iso", "dmy", "dmy2"]))
    low = date(2000, 1, 1) if form == "dmy2" else date(1900, 1, 1)
    high = date(2000 + TWO_DIGIT_YEAR_PIVOT - 1, 12, 31) if form == "dmy2" else date(2199, 12, 31)
    day = draw(st.dates(min_value=low, max_value=high))
    sep = draw(SEPARATORS)
    pad = draw(st.booleans())
    d, m = (f"{day.day:02}", f"{day.month:02}") if pad else (str(day.day), str(day.month))
    if form == "iso":
        return f"{day.year}{sep}{m}{sep}{d}", day
    year = f"{day.year % 100:02}" if form == "dmy2" else str(day.year)
    return f"{d}{sep}{m}{sep}{year}", day


@settings(max_examples=60, deadline=None)
@given(st.lists(written_dates(), min_size=1, max_size=20))
def test_generated_dates_parse_to_their_meaning(cases: list[tuple[str, date]]) -> None:
    assert _dates([text for text, _ in cases]) == [day for _, day in cases]


@settings(max_examples=40, deadline=None)
@given(
    digits=st.integers(1000, 9999),
    letters=st.sampled_from(["AB", "ZZ", "KL", "ab", "Ab"]),
    spaces=st.sampled_from(["", " ", "  "]),
    number=st.integers(1, 99_999),
    letter=st.sampled_from(["", "a", "B"]),
    joiner=st.sampled_from(["", " ", "-"]),
)
def test_generated_address_spellings_read_as_one_address(
    digits: int, letters: str, spaces: str, number: int, letter: str, joiner: str
) -> None:
    written = _address(f"{digits}{spaces}{letters}", f"{number}{joiner}{letter}", "", "")
    in_column = _address(f"{digits}{letters.upper()}", str(number), letter, "")
    assert written == in_column == (f"{digits}{letters.upper()}", str(number), letter.upper(), "")
