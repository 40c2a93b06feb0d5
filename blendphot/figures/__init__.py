"""Figures of the paper, drawn with matplotlib (Agg backend, set in figures.common)."""
