"""Benchmark: the sep baseline on blends of 2 to K galaxies (cost, and the association gate).

(1) Cost: ms per blend of the whole measurement (cold/hot passes, Kron, the isolated
    reference) on two sets of round Gaussian galaxies (blendphot.testing, ``--size`` pixel
    stamps, ``--n`` blends): pairs in a K = 2 set (the paper's association) and blends of
    2 to 4 galaxies in a K = 4 set (the members' association); interleaved rounds, one core.
(2) The gate: on the 2-4 set above, on ``--blend-set`` if given (e.g. a demo test set of
    real pairs), and, with ``--compose``, on a set of 2 to 4 real galaxies composed from that
    pair set (each blend's central and companion plus the shifted companions of other
    blends, noise and all, so the blend noise is sqrt(n) times the stamps'), per slot the
    per cent of members found, and of those the per cent whose isophotal flux is more than
    50% off the truth (a sign of a wrong match), with the gate max(m px, f x the member's
    radius) for a few (m, f), no gate at all, and, on a pair set, the paper's association
    (central nearest the centre, companion the brightest other).
(3) The oracle's 1-sigma coverage (|flux - truth| < its Cramer-Rao error) per slot on the
    2-4 sets (the Gaussian one, and the composed one with ``--compose``).
Usage: python benchmarks/multi_baseline.py [--n 300] [--repeat 3] [--blend-set PATH]
       [--compose]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import h5py
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.baseline import run  # noqa: E402
from blendphot.baseline import sep_photometry as sp  # noqa: E402
from blendphot.baseline.settings import BaselineSettings  # noqa: E402
from blendphot.blends import open_blend_set  # noqa: E402
from blendphot.blends.layout import GALAXY_FIELDS, slot_names, slot_prefix  # noqa: E402
from blendphot.config import load_config  # noqa: E402
from blendphot.evaluate.oracle import oracle_photometry  # noqa: E402
from blendphot.io import read_table, write_table  # noqa: E402
from blendphot.testing import write_multi_set  # noqa: E402

GATES = {  # label -> (minimum, factor of the radius)
    "3 px": (3.0, 0.0),
    "max(3 px, rad)": (sp.MIN_GATE, 1.0),
    "max(3 px, 2 rad)": (3.0, 2.0),
    "max(1.5 px, 0.5 rad)": (1.5, 0.5),
    "no gate": (np.inf, 0.0),
}


def compose_multi_set(pairs: Path, out: Path, max_count: int = 4, seed: int = 0) -> Path:
    """A K = ``max_count`` set from a pair set: blend i keeps its central and companion and
    gains the companions of other blends (at their own shifts, at least 3 px from the
    members already placed), 2..K galaxies in all; companions brightest first."""
    rng = np.random.default_rng(seed)
    with open_blend_set(pairs) as h5:
        iso, true, mask = h5["isolated"][()], h5["isolated_true"][()], h5["mask"][()]
        table, attrs = read_table(h5["table"]), dict(h5.attrs)
    n, size, k = len(table), iso.shape[-1], max_count
    counts = rng.integers(2, k + 1, n)
    fields = list(GALAXY_FIELDS)
    shifts = table[["shift_x", "shift_y"]].to_numpy(float)
    out_iso = np.zeros((n, k, size, size), np.float32)
    out_true, out_mask = np.zeros_like(out_iso), np.zeros((n, k, size, size), np.uint8)
    flux = np.full((n, k), np.nan)
    rows = []
    for i in range(n):
        members = [(i, 0, (0.0, 0.0)), (i, 1, tuple(shifts[i]))]
        while len(members) < counts[i]:
            j = int(rng.integers(n))
            if all(np.hypot(*(shifts[j] - m[2])) >= 3 for m in members):
                members.append((j, 1, tuple(shifts[j])))
        # the layout's order: the companions brightest first
        members = members[:1] + sorted(members[1:], key=lambda m: -table[f"g{m[1] + 1}_flux"][m[0]])
        row = {"id": int(table["id"][i]), "n_galaxies": int(counts[i])}
        for slot in range(k):
            g = slot_prefix(slot)
            if slot < len(members):
                j, src, (dx, dy) = members[slot]
                out_iso[i, slot], out_true[i, slot] = iso[j, src], true[j, src]
                out_mask[i, slot] = mask[j, src]
                values = {f: table[f"g{src + 1}_{f}"][j] for f in fields}
                flux[i, slot] = values["flux"]
            else:
                dx = dy = np.nan
                values = {f: np.nan for f in fields} | {"id": -1, "type": ""}
            row.update({f"{g}_{f}": values[f] for f in fields})
            if slot == 1:
                row.update(shift_x=int(dx), shift_y=int(dy), distance=float(np.hypot(dx, dy)))
            elif slot >= 2:
                row.update({f"{g}_shift_x": dx, f"{g}_shift_y": dy})
                row[f"{g}_distance"] = float(np.hypot(dx, dy))
        rows.append(row)
    with h5py.File(out, "w") as h5:
        h5["blend"] = out_iso.sum(axis=1)
        h5["isolated"], h5["isolated_true"], h5["mask"], h5["flux"] = (
            out_iso, out_true, out_mask, flux
        )  # fmt: skip
        write_table(h5.create_group("table"), pd.DataFrame(rows))
        h5.attrs.update(attrs)
    return out


def cost(paths: dict[str, Path], settings: BaselineSettings, repeat: int) -> None:
    """Print ms per blend of measure_set on each set, best and median of ``repeat`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeat):
        for name, path in paths.items():
            t0 = time.perf_counter()
            n = len(run.measure_set(path, settings))
            times[name].append(1000 * (time.perf_counter() - t0) / n)
    print(f"{'set':38s} {'best':>8s} {'median':>8s}  ms per blend (Kron + reference)")
    for name, values in times.items():
        print(f"{name:38s} {min(values):8.2f} {statistics.median(values):8.2f}")


def found_table(found: np.ndarray, wrong: np.ndarray, present: np.ndarray) -> str:
    """'found% (off%)' per slot: members found, and the found ones more than 50% off."""
    cells = []
    for k in range(present.shape[1]):
        p = present[:, k]
        hit = found[p, k]
        off = wrong[p, k][hit]
        share = 100 * off.mean() if len(off) else np.nan
        cells.append(f"g{k + 1} {100 * hit.mean():5.1f} ({share:4.1f})")
    return "  ".join(cells)


def found_shares(found: np.ndarray, present: np.ndarray) -> dict[str, float]:
    """Members found, per cent, per slot (``g1 %`` ...)."""
    return {
        f"g{k + 1} %": round(100 * float(found[present[:, k], k].mean()), 1)
        for k in range(present.shape[1])
    }


def gate_scan(path: Path, settings: BaselineSettings) -> list[dict]:
    """Print members found per slot for each gate (and the paper's association on pairs)."""
    with open_blend_set(path) as h5:
        truth = h5["flux"][()]
    present = np.isfinite(truth)
    k = truth.shape[1]
    roles = slot_names(k)
    print(f"{path.name}: {len(truth)} blends, {int(present.sum())} galaxies, K = {k}")
    print("gate: per slot, members found % (of them, isophotal flux > 50% off %); spurious")
    rows = []
    for label, (minimum, factor) in GATES.items():

        def gates(radii, minimum=minimum, factor=factor):
            return sp.member_gates(factor * np.asarray(radii, dtype=float), minimum)

        with mock.patch.object(run, "member_gates", gates):
            result = run.measure_set(path, settings, kron=False, reference=False, members=True)
        bits = result["found"].to_numpy(int)[:, None] >> np.arange(k)[None, :]
        found = (bits & 1).astype(bool)
        flux = result[[f"flux_{r}" for r in roles]].to_numpy(float)
        with np.errstate(invalid="ignore"):
            wrong = np.abs(flux / truth - 1) > 0.5
        spurious = 100 * (result["n_spurious"] > 0).mean()
        print(f"  {label:22s} {found_table(found, wrong, present)}  spurious {spurious:4.1f}%")
        rows.append({"set": path.name, "gate": label, **found_shares(found, present),
                     "spurious %": round(spurious, 1)})  # fmt: skip
    if k == 2:
        result = run.measure_set(path, settings, kron=False, reference=False)
        code = result["detection"].to_numpy()
        found = np.stack([np.isin(code, (0, 2, 3)), np.isin(code, (1, 2, 3))], axis=1)
        flux = result[["flux_central", "flux_companion"]].to_numpy(float)
        with np.errstate(invalid="ignore"):
            wrong = np.abs(flux / truth - 1) > 0.5
        print(f"  {'paper association':22s} {found_table(found, wrong, present)}")
        rows.append({"set": path.name, "gate": "the paper's association",
                     **found_shares(found, present)})  # fmt: skip
    return rows


def oracle_coverage(path: Path) -> None:
    """Print the oracle's 1-sigma coverage per slot and overall on the set at ``path``."""
    with open_blend_set(path) as h5:
        truth = h5["flux"][()]
    result = oracle_photometry(path, path.with_suffix(".oracle.csv"))
    roles = slot_names(truth.shape[1])
    flux = result[[f"flux_{r}" for r in roles]].to_numpy()
    err = result[[f"flux_{r}_err" for r in roles]].to_numpy()
    present = np.isfinite(truth)
    inside = np.abs(flux - truth) < err
    cells = [f"g{k + 1} {100 * inside[present[:, k], k].mean():.1f}" for k in range(len(roles))]
    print(
        f"oracle 1-sigma coverage, per cent, {path.name} ({int(present.sum())} galaxies): "
        f"all {100 * inside[present].mean():.1f}; " + "  ".join(cells)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--blend-set", default=None, help="a set for the gate scan")
    parser.add_argument("--compose", action="store_true", help="and a 2-4 set made from it")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the gate table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args(argv)
    settings = BaselineSettings.of(load_config(args.config)["baseline"])
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="bench_multi_") as tmp:
        pairs = write_multi_set(Path(tmp) / "pairs.h5", [2] * args.n, args.size, seed=1)
        counts = rng.integers(2, 5, args.n)
        multi = write_multi_set(Path(tmp) / "multi.h5", counts, args.size, seed=1)
        mean = float(np.mean(counts))
        cost({"pairs (K = 2)": pairs, f"2-4 galaxies (K = 4, mean {mean:.2f})": multi}, settings,
             args.repeat)  # fmt: skip
        rows = gate_scan(multi, settings)
        oracle_coverage(multi)
        if args.blend_set:
            rows += gate_scan(Path(args.blend_set), settings)
        if args.blend_set and args.compose:
            composed = compose_multi_set(Path(args.blend_set), Path(tmp) / "composed.h5")
            rows += gate_scan(composed, settings)
            oracle_coverage(composed)
    if args.markdown:
        import pandas as pd

        from blendphot.docs import write_study_table
        from blendphot.evaluate.tables import markdown_table

        write_study_table(args.markdown, markdown_table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
