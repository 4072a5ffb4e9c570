"""Processes as an operator sees them in /proc: the helper processes a process started, and
whether a process has ended."""

from __future__ import annotations

from pathlib import Path


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody reaps (its parent was killed)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def helpers_of(parent: int) -> list[int]:
    """The helper processes (:mod:`factlab.helper_process`) that ``parent`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if (
            b"factlab.helper_process" in command
            and int(stat.rsplit(")", 1)[1].split()[1]) == parent
        ):
            found.append(int(entry.name))
    return found
