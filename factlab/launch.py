"""The ``factlab`` command: it starts the helper processes it will need before its own imports.

A close waits for the Great Expectations verdict, and Great Expectations takes about two
seconds to import in its helper process. Started here, before the command line loads polars,
DuckDB and the pipeline (half a second), that import overlaps the whole run instead of
beginning after those imports: a small edition is done half a second sooner (docs/schaal-rondes.md).

Not before a large check: its reader processes need both cores, and so do pseudonymising and
linking after it; the close starts the helper after the link (an early import cost a national
run more than a second, and an import beside the pseudonymising half a second). A large check
gets its reader processes here instead (:mod:`factlab.readers`): their imports then overlap the
command's own, on the core it leaves idle. Other commands, and ``--help``, start nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from factlab import readers
from factlab.check_size import LARGE_CHECK_BYTES, READ_AHEAD_UPLOADS, holds_at_least
from factlab.quality_helper import prestart

#: The commands whose run ends in a close (and so in the quality checkpoint).
CLOSING_COMMANDS = frozenset({"run", "close", "demo"})
#: The commands that check the uploads in ``--uploads``.
CHECKING_COMMANDS = frozenset({"run", "check"})
UPLOADS_OPTION = "--uploads"


def _option(arguments: list[str], name: str) -> str | None:
    """The value given for option ``name`` (``--name value`` or ``--name=value``), if any."""
    for position, argument in enumerate(arguments):
        if argument == name and position + 1 < len(arguments):
            return arguments[position + 1]
        if argument.startswith(f"{name}="):
            return argument.split("=", 1)[1]
    return None


def _command(arguments: list[str]) -> str | None:
    """The command these command-line arguments run (None for ``--help``)."""
    if any(argument in ("--help", "-h") for argument in arguments):
        return None
    return next((a for a in arguments if not a.startswith("-")), None)


def closes_an_edition(arguments: list[str]) -> bool:
    """Whether these command-line arguments run a command that closes an edition."""
    return _command(arguments) in CLOSING_COMMANDS


def checks_a_large_delivery(arguments: list[str]) -> bool:
    """Whether these command-line arguments check uploads that the check reads ahead: of a
    large check's size, in more than one file."""
    uploads = _option(arguments, UPLOADS_OPTION)
    return (
        _command(arguments) in CHECKING_COMMANDS
        and uploads is not None
        and holds_at_least(Path(uploads), LARGE_CHECK_BYTES, files=READ_AHEAD_UPLOADS)
    )


def head_start(arguments: list[str]) -> bool:
    """Whether to start the quality helper before anything else: for a command that closes an
    edition, unless it first checks a large delivery."""
    return closes_an_edition(arguments) and not checks_a_large_delivery(arguments)


def start_helpers(arguments: list[str]) -> None:
    """Start what the command will need: the quality helper, or the readers of a large check."""
    if head_start(arguments):
        prestart()
    elif checks_a_large_delivery(arguments):
        readers.prestart()


def main() -> None:
    start_helpers(sys.argv[1:])
    from factlab.cli import app

    app()
