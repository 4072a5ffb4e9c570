"""``python -m factlab``: the ``factlab`` command (:mod:`factlab.launch`)."""

from factlab.launch import main

main()
