"""The names of what an edition's folder holds, beside its tables (:mod:`.tables`).

One place for them: the close writes these files, the review moves them into place, the
report links to them, and the tests read them. A module without imports, so that the
reviewer's light commands can name them without loading the pipeline.
"""

AUDIT_FILE = "audit.json"  # the edition's audit record (factlab.schemas.audit)
CERTIFICATE = "openbaarmaking.json"  # the release certificate (factlab.certificate)
HOUSEHOLDS_FILE = "huishoudens.parquet"  # the de-identified household table (internal)
QUALITY_FOLDER = "kwaliteit"  # the Great Expectations Data Docs
RECEIPTS_FOLDER = "ontvangst"  # each delivery's receipt, per organisation
