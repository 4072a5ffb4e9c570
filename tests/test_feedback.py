"""Partner feedback: plain Dutch, every failing row, never a cell value, opens in Dutch Excel."""

from __future__ import annotations

import csv
import io

import polars as pl

from factlab.config import CANONICAL_COLUMNS
from factlab.feedback import ROWS_SHOWN, feedback
from factlab.schemas.delivery import RULES
from factlab.schemas.records import PROCESSED, QUARANTINED, Receipt, Status
from factlab.validate import Tally, validate

CODES = frozenset({"WMO-HH"})


def _tally(*rows: dict[str, str]) -> Tally:
    records = [{c: row.get(c, "") for c in CANONICAL_COLUMNS} for row in rows]
    frame = pl.DataFrame(records, schema=dict.fromkeys(CANONICAL_COLUMNS, pl.String))
    frame = frame.with_row_index("rij", offset=2).with_columns(pl.col("rij").cast(pl.Int64))
    return Tally().add(validate(frame, catalogue_codes=CODES, period=None))


def _receipt(status: Status, reason: str | None = None, name: str = "Partner") -> Receipt:
    return Receipt("p", name, "a.csv", "L0001", status, "2026-03-01T10:00:00Z", reason=reason)


GOOD = {"postcode": "1503AB", "huisnummer": "12", "voorziening": "WMO-HH"}
SECRET = {"postcode": "9999 Z", "huisnummer": "77", "voorziening": "WMO-HH"}


def test_page_names_rows_rules_and_advice_but_no_values() -> None:
    tally = _tally(GOOD, SECRET, GOOD | {"huisnummer": "13", "voorziening": "ONBEKEND"})
    page = feedback(_receipt(PROCESSED), "p/a.csv", tally)
    text = page.markdown
    assert "Het bestand is verwerkt." in text
    assert "Rijnummers: 3" in text and "Rijnummers: 4" in text
    assert "Controleer de postcode" in text
    assert "9999" not in text and "ONBEKEND" not in text


def test_csv_lists_every_failing_row_for_dutch_excel() -> None:
    bad = [GOOD | {"huisnummer": str(n), "postcode": "0000AA"} for n in range(1, 31)]
    tally = _tally(*bad)
    page = feedback(_receipt(QUARANTINED, "te veel"), "p/a.csv", tally)
    assert page.csv.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(page.csv.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["rij", "kolom", "regel", "probleem", "wat_te_doen"]
    assert [int(r[0]) for r in rows[1:]] == list(range(2, 32))
    assert f"en nog {30 - ROWS_SHOWN} (zie de CSV)" in page.markdown
    assert "niet verwerkt" in page.markdown and "Reden: te veel" in page.markdown


def test_unreadable_file_gets_a_reason_and_an_empty_csv() -> None:
    page = feedback(_receipt(QUARANTINED, "het bestand is leeg", name="=naam"), "p/=x.csv", None)
    assert "Bestand: p/=x.csv" in page.markdown  # organisation first: not a formula
    assert "Organisatie: '=naam" in page.markdown
    assert page.csv.decode("utf-8-sig").splitlines() == ["rij;kolom;regel;probleem;wat_te_doen"]


def test_a_replacing_delivery_says_which_one_it_replaced() -> None:
    receipt = Receipt(
        "p", "P", "a.csv", "L0004", PROCESSED, "2026-03-02T10:00:00Z", replaces="L0001"
    )
    page = feedback(receipt, "p/a.csv", _tally(GOOD))
    assert "Levering: L0004" in page.markdown and "Vervangt: levering L0001" in page.markdown


def test_csv_is_what_excel_users_got_from_pythons_csv_writer() -> None:
    """Every rule's text, quoted where the Dutch CSV dialect needs it, CRLF, BOM: byte for
    byte what the standard library writes for the same rows."""
    rejections = pl.DataFrame(
        {
            "rij": [7 + i // 2 for i in range(2 * len(RULES))],
            "kolom": [RULES[i % len(RULES)].column for i in range(2 * len(RULES))],
            "regel": [RULES[i % len(RULES)].code for i in range(2 * len(RULES))],
        }
    ).reverse()  # out of order: the CSV sorts by row and rule
    page = feedback(_receipt(PROCESSED), "p/a.csv", Tally(rejections=rejections))
    expected = io.StringIO()
    writer = csv.writer(expected, delimiter=";", lineterminator="\r\n")
    writer.writerow(["rij", "kolom", "regel", "probleem", "wat_te_doen"])
    by_code = {rule.code: rule for rule in RULES}
    for row, column, code in sorted(rejections.iter_rows(), key=lambda r: (r[0], r[2])):
        writer.writerow([row, column, code, by_code[code].problem, by_code[code].advice])
    assert page.csv == ("\ufeff" + expected.getvalue()).encode("utf-8")
