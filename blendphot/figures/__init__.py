"""Figures of the paper, drawn with matplotlib (Agg backend, no display needed)."""

import matplotlib

matplotlib.use("Agg")
