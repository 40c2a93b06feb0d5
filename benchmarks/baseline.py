"""Benchmark: the sep baseline in blends per second per core, variants side by side.

Builds a test blend set with the library (synthetic sky, stamps, blends of the demo config,
``--n-test`` test blends) unless ``--blend-set`` names one, then times, in interleaved rounds
in this one process (one core: sep is single-threaded):

(a) cold/hot isophotal, the paper's baseline;
(b) (a) with sep's default pixel stack (300000) instead of ours (2 x stamp pixels);
(c) (a) + Kron fluxes;
(d) (c) + the isolated reference (the same estimators on both isolated stamps).

Each includes reading the blends from HDF5 (page cache warm) and the association; not the CSV
writing. Prints the best and median of ``--repeat`` rounds.
Usage: python benchmarks/baseline.py [--n-test 2000] [--repeat 5] [--blend-set PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.baseline import measure_set  # noqa: E402
from blendphot.baseline.sep_photometry import Limits, run_limits  # noqa: E402
from blendphot.baseline.settings import BaselineSettings  # noqa: E402
from blendphot.config import load_config  # noqa: E402
from blendphot.testing import run_data_chain  # noqa: E402

SEP_DEFAULT_PIXSTACK = 300000


def build_test_set(config: dict, workdir: Path) -> Path:
    """Sky, stamps and blend sets of ``config`` in ``workdir``; returns the test set's path."""
    p = run_data_chain(config, workdir)
    return p["test"]


def variants() -> dict:
    """Name -> keyword arguments of measure_set."""
    default = Limits(SEP_DEFAULT_PIXSTACK, run_limits(1).sub_objects)
    return {
        "(a) cold/hot isophotal": {"kron": False, "reference": False},
        "(b) (a), sep default pixstack": {"kron": False, "reference": False, "limits": default},
        "(c) (a) + Kron": {"kron": True, "reference": False},
        "(d) (c) + isolated reference": {"kron": True, "reference": True},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blend-set", default=None, help="an existing test blend set")
    args = parser.parse_args(argv)

    config = load_config(args.config)
    settings = BaselineSettings.of(config["baseline"])
    with tempfile.TemporaryDirectory(prefix="bench_baseline_") as tmp:
        if args.blend_set:
            path = Path(args.blend_set)
        else:
            config["blends"].update(n_test=args.n_test, n_train=64, n_val=64)
            t0 = time.perf_counter()
            path = build_test_set(config, Path(tmp))
            print(f"built {args.n_test} test blends in {time.perf_counter() - t0:.1f} s")
        rates: dict[str, list[float]] = {name: [] for name in variants()}
        n = 0
        for _ in range(args.repeat):
            for name, kwargs in variants().items():
                t0 = time.perf_counter()
                n = len(measure_set(path, settings, **kwargs))
                rates[name].append(n / (time.perf_counter() - t0))
    print(f"{n} blends, {args.repeat} interleaved rounds, one core; blends/s per core:")
    print(f"{'variant':34s} {'best':>8s} {'median':>8s} {'ms/blend':>9s}")
    for name, values in rates.items():
        best, median = max(values), statistics.median(values)
        print(f"{name:34s} {best:8.0f} {median:8.0f} {1000 / median:9.3f}")


if __name__ == "__main__":
    main()
