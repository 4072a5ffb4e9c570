"""The ``factlab`` command: a command that closes an edition starts the quality helper first.

A close waits for the Great Expectations verdict, and Great Expectations takes about two
seconds to import in its helper process. Started here, before the command line loads polars,
DuckDB and the pipeline (half a second), that import overlaps the whole run instead of
beginning after those imports: a small edition is done half a second sooner (docs/schaal.md).
Not before a large check: its reader processes need both cores, and so do pseudonymising and
linking after it; the close starts the helper after the link (an early import cost a national
run more than a second, and an import beside the pseudonymising half a second). Other
commands, and ``--help``, start nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from factlab.check_size import LARGE_CHECK_BYTES, holds_at_least
from factlab.quality_helper import prestart

#: The commands whose run ends in a close (and so in the quality checkpoint).
CLOSING_COMMANDS = frozenset({"run", "close", "demo"})
UPLOADS_OPTION = "--uploads"


def _option(arguments: list[str], name: str) -> str | None:
    """The value given for option ``name`` (``--name value`` or ``--name=value``), if any."""
    for position, argument in enumerate(arguments):
        if argument == name and position + 1 < len(arguments):
            return arguments[position + 1]
        if argument.startswith(f"{name}="):
            return argument.split("=", 1)[1]
    return None


def closes_an_edition(arguments: list[str]) -> bool:
    """Whether these command-line arguments run a command that closes an edition."""
    if any(argument in ("--help", "-h") for argument in arguments):
        return False
    command = next((a for a in arguments if not a.startswith("-")), None)
    return command in CLOSING_COMMANDS


def head_start(arguments: list[str]) -> bool:
    """Whether to start the quality helper before anything else: for a command that closes an
    edition, unless it first checks a large delivery."""
    if not closes_an_edition(arguments):
        return False
    uploads = _option(arguments, UPLOADS_OPTION)
    return uploads is None or not holds_at_least(Path(uploads), LARGE_CHECK_BYTES)


def main() -> None:
    if head_start(sys.argv[1:]):
        prestart()
    from factlab.cli import app

    app()
