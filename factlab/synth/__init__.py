"""Synthetic gemeente: a realistic, reproducible edition with ground truth, for any gemeente.

Why this exists: Factlab links provisions per household across partners, and nobody may use
real addresses to demo, test or benchmark that. So we fabricate a whole edition folder that
looks like the real thing: the CBS postcode-huisnummer table for the gemeente (its real CBS
wijken and their real dwelling counts from the bundled kerncijfers 2024, invented buurten and
PC6 postcodes; Zaanstad, the default, also with its real wijk names and map),
uploads from nine partner organisations in deliberately different layouts (three delimiters,
three encodings, one XLSX, own column names and own provision codes, all the ways people write
``12-1hg``), the ``factlab.toml`` that connects them, and, for tests only, the ground truth a
perfect pipeline must reproduce.

How the statistics are made: every dwelling is a household with a latent vulnerability score
(in Zaanstad higher on average in Poelenburg, Pelders- en Hoornseveld and Kogerveldwijk, lower
in Westzaan and Assendelft-Noord; elsewhere a per-wijk mean drawn from the seed). The score
drives whether a household uses any provision at all, which combination of the
Jeugd/Wmo/Participatie domains it uses (calibrated to the published CBS combination shares)
and how many distinct provisions it has (calibrated to the Zutphen 2022 distribution); the
other domains follow the profile (minima mostly with bijstand, VVE only with children). The
truth is derived from the rows actually written, never from the model, so the receipts and
household counts in ``waarheid/`` are exact by construction.

Generation is vectorised with numpy (dwellings, usage); only rendering of the partner rows is
a Python loop, which is linear in the number of rows. One ``numpy.random.Generator`` seeded
from ``seed`` drives everything, and the file writers avoid timestamps, so the same seed gives
byte-identical output. Pure generation functions first, file writing at the edge.

Any scale works: postcodes come from a pool of every PC4 (an error only when even that runs
out), and an XLSX delivery is split over files below Excel's row limit, each with its own
receipt truth.

One module per job, in dependency order:

- :mod:`~factlab.synth.calibration`: the published shares and distributions, Zaanstad's wijken;
- :mod:`~factlab.synth.partners`: the nine partner organisations and their delivery layouts;
- :mod:`~factlab.synth.geography`: wijken, latent need per wijk, the catalogue;
- :mod:`~factlab.synth.dwellings`: addresses in wijk and buurt, the pc6hnr table;
- :mod:`~factlab.synth.model`: provision use per household;
- :mod:`~factlab.synth.rows`: messy partner rows and each file's receipt truth;
- :mod:`~factlab.synth.writers`: upload files, ``factlab.toml``, wijken table and map;
- :mod:`~factlab.synth.generate`: :func:`synthesise`, which ties them together.

The generator is a tool for demos, tests and benchmarks, never part of a run: no stage of the
pipeline imports it (tests/test_import_rules.py).
"""

from factlab.synth.calibration import JWP_COMBOS, PERIOD_END, PERIOD_START, ZAANSTAD
from factlab.synth.dwellings import generate_dwellings
from factlab.synth.generate import SynthSummary, synthesise
from factlab.synth.geography import catalogue_domains, geography, load_wijken
from factlab.synth.writers import render_config, synthetic_map

__all__ = [
    "JWP_COMBOS",
    "PERIOD_END",
    "PERIOD_START",
    "ZAANSTAD",
    "SynthSummary",
    "catalogue_domains",
    "generate_dwellings",
    "geography",
    "load_wijken",
    "render_config",
    "synthesise",
    "synthetic_map",
]
