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


DEBUG_VARIABLE = "FACTLAB_DEBUG"


def unexpected(error: BaseException) -> str:
    """A description of an unexpected error (a bug) that is safe to print or log.

    The message of an exception raised deep inside polars or DuckDB may quote the data it was
    working on, which during intake can be an address. So only the type is shown; the full
    traceback is for a developer who sets ``FACTLAB_DEBUG=1`` on their own machine.
    """
    return (
        f"onverwachte fout in Factlab ({type(error).__name__}); de run is afgebroken. Uploads "
        "die nog niet verwerkt waren staan er nog; een nieuwe run ruimt eerst op. De details "
        f"kunnen gegevens bevatten en worden daarom alleen getoond met {DEBUG_VARIABLE}=1."
    )
