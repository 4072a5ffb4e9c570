"""What the Factlab flows share: settings from parameters, safe errors, logs and artifacts.

Everything Prefect records outlives the run in its database: parameters, state messages, logs
and artifacts. So the flows hand Prefect counts, organisation codes, delivery ids and Factlab's
own Dutch messages (which never quote a cell), never a file name (partner-chosen), an address,
a pseudonym or key material; a bug is reported by its type only (see
:func:`factlab.errors.unexpected`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact

from factlab.edition import EditionStatus, RunSettings, resolve_edition
from factlab.errors import FactlabError, unexpected
from factlab.files import set_umask

P = ParamSpec("P")
R = TypeVar("R")


def settings(
    uploads: str,
    out: str,
    edition: str | None,
    config: str | None,
    period: str | None = None,
    max_afgewezen: float | None = None,
    wachttijd: float | None = None,
) -> RunSettings:
    """Run settings from flow parameters, resolved as the CLI resolves its options."""
    set_umask()
    upload_path, out_path = Path(uploads), Path(out)
    return RunSettings.from_options(
        Path(config) if config else upload_path.parent / "factlab.toml",
        uploads=upload_path,
        out=out_path,
        edition=resolve_edition(out_path, edition),
        period=period,
        max_rejected_share=max_afgewezen,
        settle_seconds=wachttijd,
    )


def redacted(function: Callable[P, R]) -> Callable[P, R]:
    """Let Factlab's own messages through; report any other error by its type only."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except FactlabError:
            raise
        except Exception as error:
            raise RuntimeError(unexpected(error)) from None

    return wrapper


class _ToPrefect(logging.Handler):
    """Factlab's warnings (quarantine, refusals, skipped files) into the flow run's log."""

    def emit(self, record: logging.LogRecord) -> None:
        get_run_logger().log(record.levelno, record.getMessage())


@contextmanager
def factlab_warnings_in_prefect() -> Iterator[None]:
    handler = _ToPrefect(level=logging.WARNING)
    logger = logging.getLogger("factlab")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def deliveries_markdown(status: EditionStatus) -> str:
    """Per partner: status, deliveries, rows, placement rate, reason; never a file name."""
    lines = [
        f"# Factlab editie {status.edition}: {status.state}",
        "",
        "| organisatie | status | leveringen | rijen | geplaatst | laatste levering | reden |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in status.partners:
        placed = f"{p.placed_share:.0%}" if p.placed_share is not None else "-"
        reason = (p.reason or "").replace("|", "/").replace("\n", " ")
        lines.append(
            f"| {p.organisation} | {p.status} | {p.deliveries} | {p.rows} | {placed} | "
            f"{p.last_delivery or '-'} | {reason} |"
        )
    if status.completeness is not None and not status.completeness.complete:
        lines += ["", "**Nog niet compleet:** sluiten wordt geweigerd zonder --onvolledig."]
    return "\n".join(lines) + "\n"


def artifact_key(prefix: str, edition: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    clean = "".join(ch if ch.isalnum() else "-" for ch in edition.lower())
    return f"{prefix}-{clean}"


def publish_status_artifact(status: EditionStatus) -> None:
    create_markdown_artifact(
        key=artifact_key("factlab-aanleveringen", status.edition),
        markdown=deliveries_markdown(status),
        description=f"Aanleveringen per partner, editie {status.edition}",
    )
