"""Refuse ``prefect deploy`` when the environment that fills in prefect.yaml is incomplete.

prefect.yaml takes the repository and the edition's paths from environment variables. An unset
variable would be stored literally (``{{ $FACTLAB_REPO }}``) and every run would crash later on
the worker; this build step stops the deploy at once, with a message saying what to set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REQUIRED = {
    "FACTLAB_REPO": "de map van deze repository op de machine van de worker",
    "FACTLAB_UPLOADS": "de uploadmap met per organisatie een submap",
    "FACTLAB_OUT": "de uitvoermap van de edities",
    "FACTLAB_CONFIG": "het configuratiebestand factlab.toml",
}


def problems(environment: dict[str, str]) -> list[str]:
    """What is missing from ``environment`` to deploy, in Dutch (empty when ready)."""
    found = []
    for name, meaning in REQUIRED.items():
        value = environment.get(name, "").strip()
        if not value:
            found.append(f"{name} is niet gezet ({meaning})")
        elif not Path(value).is_absolute():
            found.append(f"{name} moet een absoluut pad zijn, niet {value!r}")
    return found


def main() -> int:
    found = problems(dict(os.environ))
    for problem in found:
        print(f"Fout: {problem}", file=sys.stderr)
    if found:
        print("Zie README, 'Op een schema draaien'. Er is niets uitgerold.", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
