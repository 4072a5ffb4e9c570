"""The documentation names what the code does: every rule, provision and published column."""

from pathlib import Path

import pytest

from factlab.catalogue import load_catalogue
from factlab.disclose import CONTRACTS
from factlab.schemas.delivery import RULES

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def delivery_format() -> str:
    return (DOCS / "aanleverformaat.md").read_text(encoding="utf-8")


def test_every_rule_is_documented_for_partners(delivery_format: str) -> None:
    missing = [rule.code for rule in RULES if f"`{rule.code}`" not in delivery_format]
    assert missing == []


def test_every_catalogue_code_is_documented(delivery_format: str) -> None:
    missing = [
        code for code in load_catalogue().get_column("code") if f"`{code}`" not in delivery_format
    ]
    assert missing == []


def test_every_published_table_and_column_is_documented() -> None:
    tables = (DOCS / "tabellen.md").read_text(encoding="utf-8")
    missing = [
        f"{name}.{column.name}"
        for name, contract in CONTRACTS.items()
        for column in contract.columns
        if name not in tables or column.name not in tables
    ]
    assert missing == []
