"""HTML reports: render results (never recompute them)."""

from harness.report.render import render_audit, render_run, render_sweep

__all__ = ["render_audit", "render_run", "render_sweep"]
