"""The counts every receipt carries, in the order they are reported and published.

``rijen_gelezen = geaccepteerd + afgewezen + dubbel + buiten_periode`` and
``geaccepteerd = geplaatst + niet_geplaatst + buiten_gemeente``.
"""

COUNT_KEYS: tuple[str, ...] = (
    "rijen_gelezen",
    "geaccepteerd",
    "afgewezen",
    "dubbel",
    "buiten_periode",
    "geplaatst",
    "niet_geplaatst",
    "buiten_gemeente",
)
