"""Contracts as data: the delivery format's row rules and the shapes of what Factlab publishes."""
