"""Prefect flows: how data analysts schedule and run Factlab editions (see ``prefect.yaml``)."""
