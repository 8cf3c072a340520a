"""Rendering at the edge: terminal tables, figures, progress bars and report.html."""
