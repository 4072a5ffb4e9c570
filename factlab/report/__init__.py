"""The Dutch HTML report: one self-contained file, built only from published (protected) tables.

Split by job: :mod:`.format` (Dutch numbers, the cell model), :mod:`.figures` (plotly, offline
and without cloud controls), :mod:`.narrative` (conclusions, definitions, rules, quality),
:mod:`.tables` (HTML tables), :mod:`.compare` (CBS and earlier editions, published numbers
only) and :mod:`.render` (template, gate, plotly.js inlining).
"""

from factlab.report.format import fmt_count, fmt_pct, fmt_ratio
from factlab.report.render import gate_html, inline_plotly, render_report

__all__ = ["fmt_count", "fmt_pct", "fmt_ratio", "gate_html", "inline_plotly", "render_report"]
