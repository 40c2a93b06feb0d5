"""Benchmark: the scarlet2 baseline in ms per blend per core, JAX compilation apart.

Runs the scarlet shard's own code (:func:`blendphot.baseline.scarlet.scarlet_set`: sep
detection and association, then one scarlet2 fit per blend) on the first ``--n`` blends of
a test set, in this one process with JAX's CPU thread pool at one thread (a shard is one
core). The first fit for each number of sources compiles (JAX/XLA); that time is printed
apart, and the per-blend cost is the rest divided by the blends. Also prints the status
counts, the iterations and the flux MAPE per role against the set's true fluxes.

With ``--blend-set`` omitted, builds the demo test set with the library (as
benchmarks/baseline.py does). The PSF is the configured sky's (``scarlet_psf``'s).
Usage: python benchmarks/scarlet.py [--blend-set results/demo/blends/test.h5] [--n 100]
       [--oracle-positions] [--projected 600] [--out scarlet.csv]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.baseline import scarlet as sc  # noqa: E402
from blendphot.baseline.settings import ScarletSettings  # noqa: E402
from blendphot.config import load_config  # noqa: E402

sc.configure_jax(1)  # before jax is imported: one core


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--blend-set", default=None, help="an existing test blend set")
    parser.add_argument("--n", type=int, default=100, help="blends to fit")
    parser.add_argument("--oracle-positions", action="store_true")
    parser.add_argument(
        "--projected", type=int, default=600, help="test-set size for the wall-time projection"
    )
    parser.add_argument("--cores", type=int, default=2, help="shards in the projection")
    parser.add_argument("--out", default=None, help="also write the fits as a scarlet.csv")
    args = parser.parse_args(argv)

    import dataclasses

    import numpy as np

    from blendphot.blends import open_blend_set

    config = load_config(args.config)
    settings = ScarletSettings.of({"scarlet": config["scarlet"], "baseline": config["baseline"]})
    settings = dataclasses.replace(settings, oracle_positions=args.oracle_positions)
    with tempfile.TemporaryDirectory() as tmp:
        if args.blend_set:
            path = Path(args.blend_set)
        else:
            from blendphot.testing import run_data_chain

            path = run_data_chain(config, Path(tmp))["test"]
        psf = sc.stage_psf(config["sky"], config["scarlet"]["psf"])
        began = time.perf_counter()
        result, fitter = sc.scarlet_set(path, psf, settings, slice(0, args.n))
        total = time.perf_counter() - began
        with open_blend_set(path) as h5:
            true = h5["flux"][: len(result)]
    if args.out:
        result.to_csv(args.out, index=False)
    fitted = int((result["status"] != "not_found").sum())
    per_blend = (total - fitter.compile_seconds) / max(len(result), 1)
    print(f"blends: {len(result)} ({fitted} fitted), oracle positions: {args.oracle_positions}")
    print(f"status: {sc.status_counts(result)}")
    ok = result[result["status"] == "ok"]["iterations"]
    print(f"iterations of converged fits: median {ok.median():.0f}, max {ok.max()}")
    print(f"JAX compilation (first fit per number of sources): {fitter.compile_seconds:.1f} s")
    print(f"per blend, one core, after compilation: {1000 * per_blend:.0f} ms")
    projected = fitter.compile_seconds + per_blend * args.projected / args.cores
    print(
        f"projected wall time for {args.projected} blends on {args.cores} cores "
        f"({args.cores} shards, each compiling): {projected:.0f} s"
    )
    for k, role in enumerate(("central", "companion")):
        flux = result[f"flux_{role}"].to_numpy(dtype=float)
        err = flux / true[:, k] - 1
        err = err[np.isfinite(err)]
        print(f"flux MAPE {role}: {100 * np.mean(np.abs(err)):.1f} % over {len(err)} blends")


if __name__ == "__main__":
    main()
