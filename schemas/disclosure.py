"""The disclosure settings as data: what a published count may be, and the floors no gemeente
may configure below.

Every check of a published number (the publication gate, the report gate, the quality suites,
the attacker test) asks :class:`DisclosureRules`, so any allowed ``drempel`` and ``afronding``
works everywhere, and a weaker setting is refused before anything runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The lowest threshold (``[openbaarmaking] drempel``) a gemeente may configure: CBS and the
#: OpenSAFELY output rules never publish fewer than 5 units or households.
MIN_THRESHOLD = 5
#: The lowest rounding base (``[openbaarmaking] afronding``): rounding to 1 or 2 makes the
#: rounding interval so narrow that subtracting published cells recovers suppressed ones.
MIN_ROUNDING = 3


@dataclass(frozen=True)
class DisclosureRules:
    """Configurable disclosure parameters (documented in Dutch in the report).

    ``threshold``: counts 0 up to it are never published. ``rounding``: every published count
    is a multiple of it. The ``*_decimals`` fix the precision of derived figures.
    """

    threshold: int = 7
    rounding: int = 5
    pct_decimals: int = 1
    expected_decimals: int = 1
    ratio_decimals: int = 2
    top_combinations: int = 10

    def __post_init__(self) -> None:
        if self.threshold < MIN_THRESHOLD:
            raise ValueError(f"threshold must be at least {MIN_THRESHOLD}")
        if self.rounding < MIN_ROUNDING:
            raise ValueError(f"rounding must be at least {MIN_ROUNDING}")

    @property
    def smallest_published(self) -> int:
        """The smallest count that can appear: the first multiple of the base above the threshold."""
        return self.rounding * (self.threshold // self.rounding + 1)

    def round_count(self, value: int) -> int:
        """Round half up to a multiple of ``rounding``; never into the suppressed range.

        Half up (not banker's rounding) so the same true count always gives the same output.
        """
        rounded = self.rounding * math.floor(value / self.rounding + 0.5)
        return max(rounded, self.smallest_published)

    def is_publishable(self, value: float) -> bool:
        """Whether ``value`` may appear as a published count."""
        return value == int(value) and value > self.threshold and int(value) % self.rounding == 0

    def interval(self, published: int) -> tuple[int, int]:
        """All true counts above the threshold that :meth:`round_count` publishes as ``published``.

        What an attacker knows from a published cell; the smallest published value also
        covers the counts just above the threshold that are lifted up to it.
        """
        if not self.is_publishable(published):
            raise ValueError(f"{published} is not a publishable count")
        high = math.ceil(published + self.rounding / 2) - 1
        if published == self.smallest_published:
            return self.threshold + 1, high
        return math.ceil(published - self.rounding / 2), high

    @property
    def max_rounding_error(self) -> int:
        """The largest distance between a true count and its published value."""
        return max(
            max(published - low, high - published)
            for published in (self.smallest_published, self.smallest_published + self.rounding)
            for low, high in [self.interval(published)]
        )


#: The defaults, as a value (frozen), for signatures: ``rules: DisclosureRules = DEFAULT_RULES``.
DEFAULT_RULES = DisclosureRules()
