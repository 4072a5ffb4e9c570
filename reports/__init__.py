"""Report templates (Jinja2) and their stylesheet, shipped as package data.

Kept outside ``factlab/`` so that beleid can adapt texts and layout without touching code.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent
RAPPORT_TEMPLATE = "rapport.html.j2"
STYLESHEET = TEMPLATE_DIR / "rapport.css"
