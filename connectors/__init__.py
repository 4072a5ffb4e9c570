"""Readers for the files Factlab receives from outside: partner uploads and CBS reference tables."""
