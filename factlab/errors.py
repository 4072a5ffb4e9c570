"""Errors that describe a user's mistake rather than a bug.

The CLI and the flows print these as one clear message (file, row, rule) without a traceback.
Messages never contain an address, a pseudonym or key material.
"""


class FactlabError(Exception):
    """Base for every problem a user can fix: bad input, bad configuration, bad key."""


class ConfigError(FactlabError):
    """The edition configuration or a command-line option is unusable."""


class ReferenceFileError(FactlabError):
    """A CBS reference file is missing or not in the expected format."""


class KeyMaterialError(FactlabError):
    """The managed key is missing or too weak."""
