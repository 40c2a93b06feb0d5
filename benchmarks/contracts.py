"""What the file contracts cost: each checker timed on a blend set of the paper's size, beside
the cost of reading the set once (what any stage that uses the pixels pays anyway).

    python benchmarks/contracts.py [--n 5000] [--repeat 3]

Prints, per check, the median wall time over ``--repeat`` runs and its share of one full read
of the blend images. The set is random noise in the real layout (benchmarks/make_blend_set.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.make_blend_set import make_blend_set  # noqa: E402
from blendphot.blends.layout import check_blend_file, nonfinite_rows  # noqa: E402
from blendphot.contracts import (  # noqa: E402
    check_output_catalog,
    check_predictions,
    write_prediction_file,
)
from blendphot.evaluate.catalog import PAPER_COLUMNS  # noqa: E402


def median_seconds(run, repeat: int) -> float:
    """Median wall time of ``run()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="blends (the paper's test set: 5000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="blendphot-contracts-") as tmp:
        path = make_blend_set(Path(tmp) / "test.h5", args.n)
        with h5py.File(path, "r") as h5:
            ids, flux = h5["table/id"][()], h5["flux"][()]

            def read_blends():
                for start in range(0, args.n, 256):
                    h5["blend"][start : start + 256]

            rows = {
                "read every blend image once (reference)": median_seconds(read_blends, args.repeat),
                "blend set: check_blend_file": median_seconds(
                    lambda: check_blend_file(h5, path), args.repeat
                ),
                "blend set: nonfinite_rows (pixels)": median_seconds(
                    lambda: nonfinite_rows(h5), args.repeat
                ),
            }
        pred = Path(tmp) / "pred.h5"
        write_prediction_file(pred, ids, "blend2flux", 1.1 * flux, 0.1 * flux)
        present = np.isfinite(flux)

        def predictions():
            with h5py.File(pred, "r") as h5:
                check_predictions(h5, pred, ids, "blend2flux", present)

        rows["predictions: check_predictions"] = median_seconds(predictions, args.repeat)
        catalog = pd.DataFrame({c: np.ones(args.n) for c in PAPER_COLUMNS}).assign(id=ids)
        rows["output catalogue: check_output_catalog"] = median_seconds(
            lambda: check_output_catalog(catalog, "catalog.csv", ids), args.repeat
        )
    reference = rows["read every blend image once (reference)"]
    print(f"contract checks on {args.n} blends of 128 x 128 (median of {args.repeat})")
    print("| check | seconds | per 1000 blends (ms) | share of one read |")
    print("|---|---|---|---|")
    for name, seconds in rows.items():
        share = f"{100 * seconds / reference:.1f}%"
        print(f"| {name} | {seconds:.3f} | {1000 * seconds / args.n * 1000:.2f} | {share} |")


if __name__ == "__main__":
    main()
