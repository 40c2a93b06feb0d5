"""Every method of a finished run side by side: flux MAPE and bias per role (Figure 5
selection: each galaxy where sep found it; and all blends), the share of galaxies each method
gave a flux, and the cost per blend of the photutils method measured here.

Usage (after the run, e.g. ``snakemake --configfile config/photutils.yaml``)::

    python benchmarks/method_comparison.py --run results/demo \\
        [--time-blends 200] [--markdown docs/studies/tables/photutils-baseline.md]

Prints a Markdown table; ``--markdown`` appends it to that file with the command, the date
and the commit (the study page includes the file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROLES = ("central", "companion")


def commit() -> str:
    """The code's commit (``-dirty`` with local changes), as outputs record it."""
    from blendphot.version import software_version

    return software_version().get("commit", "unknown")


def method_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per method: MAPE and bias per role on the Figure 5 selection and on all
    blends, and the share of present galaxies of slots 1-2 it gave a finite flux."""
    rows = []
    for method, group in metrics.groupby("method", sort=False):
        row = {"method": method}
        for selection in ("figure5", "all"):
            for role in ROLES:
                hit = group.query("selection == @selection and role == @role")
                if hit.empty:
                    continue
                row[f"{selection}_{role}_mape"] = float(hit["mape_flux"].iloc[0])
                row[f"{selection}_{role}_bias"] = float(hit["bias"].iloc[0])
                if selection == "all":
                    n, invalid = int(hit["n"].iloc[0]), int(hit["n_invalid"].iloc[0])
                    row[f"{role}_measured_pct"] = 100.0 * n / max(n + invalid, 1)
        rows.append(row)
    return pd.DataFrame(rows)


def time_photutils(blend_path: Path, n: int) -> float:
    """Milliseconds per blend of the photutils method on the first ``n`` blends of a set
    (one core, the default settings)."""
    import h5py

    from blendphot.baseline.run import member_positions
    from blendphot.io import read_table
    from blendphot.methods.photutils_deblend import (
        PhotutilsSettings,
        blend_noise,
        measure_blend,
        smoothing_kernel,
    )

    settings = PhotutilsSettings()
    kernel = smoothing_kernel(settings.kernel_fwhm)
    with h5py.File(blend_path) as h5:
        blends = h5["blend"][:n].astype(np.float64)
        table = read_table(h5["table"]).iloc[:n]
        known = float(h5.attrs["noise"])
    positions = member_positions(table, 2, blends.shape[-1] // 2)
    radii = table[["g1_rad", "g2_rad"]].to_numpy(float)
    start = time.perf_counter()
    for i, image in enumerate(blends):
        noise = blend_noise(image, known, 2, settings.noise)
        measure_blend(image, noise, positions[i], radii[i], settings, kernel)
    return 1000 * (time.perf_counter() - start) / len(blends)


def markdown(rows: pd.DataFrame, label: str, n_test: int) -> str:
    """The table: one line per method."""
    head = (
        f"\n**{label}** ({n_test} test blends). Flux MAPE % and bias (mag), central / "
        "companion; Figure 5 selection (where sep found the galaxy), then all blends (each "
        "method's own measured galaxies); measured: galaxies of slots 1-2 given a flux.\n\n"
        "| method | MAPE fig. 5 | bias fig. 5 | MAPE all | bias all | measured % |\n"
        "|---|---|---|---|---|---|\n"
    )

    def pair(row, key, fmt):
        values = [row.get(key.format(role), np.nan) for role in ROLES]
        return " / ".join("" if pd.isna(v) else format(v, fmt) for v in values)

    cells = (
        ("figure5_{}_mape", ".1f"),
        ("figure5_{}_bias", "+.3f"),
        ("all_{}_mape", ".1f"),
        ("all_{}_bias", "+.3f"),
        ("{}_measured_pct", ".1f"),
    )
    lines = [
        f"| {r['method']} | " + " | ".join(pair(r, key, fmt) for key, fmt in cells) + " |"
        for _, r in rows.iterrows()
    ]
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="a run's results/{dataset} folder")
    ap.add_argument("--time-blends", type=int, default=200, help="blends timed (0: no timing)")
    ap.add_argument("--markdown", type=Path, default=None, help="append the table to this file")
    args = ap.parse_args(argv)
    metrics = pd.read_csv(args.run / "metrics.csv")
    catalog = pd.read_csv(args.run / "output_catalog.csv", usecols=["id"])  # its rows
    text = markdown(method_rows(metrics), args.run.name, len(catalog))
    if args.time_blends:
        ms = time_photutils(args.run / "blends" / "test.h5", args.time_blends)
        text += f"\nphotutils: {ms:.1f} ms per blend (first {args.time_blends} test blends, "
        text += "one core).\n"
    print(text)
    if args.markdown:
        command = "python benchmarks/method_comparison.py " + shlex.join(argv or sys.argv[1:])
        date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(args.markdown, "a") as fh:
            fh.write(f"\n<!-- {date} commit {commit()}: `{command}` -->\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
