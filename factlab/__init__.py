"""Factlab: privacy-preserving linkage of social-domain provisions per household."""

__version__ = "0.1.0"
