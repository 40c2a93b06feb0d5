"""sep's detection classes on the test blends beside the paper's, and which shapes sep splits.

For a config (``config/config.yaml``, with ``--config-overlay config/paper.yaml``-style
overlays deep-merged over it as Snakemake merges ``--configfile``), builds the synthetic sky,
the stamps, the blend sets and the sep baseline on the test blends, then reports:

* the detection classes (:func:`blendphot.baseline.run.detection_percent`) beside the paper's,
  with a bootstrap standard error over the test set's distinct galaxies (the test blends
  reuse each galaxy several times: the blends are not independent draws);
* the sep isophotal flux MAPE per role, central / companion (the baseline's own
  ``flux errors`` log, :func:`blendphot.baseline.run.flux_errors`: flux / true - 1 over the
  blends where sep found that galaxy, i.e. the Figure 5 selection), beside the paper's;
* per morphological type and per shape kind of the central and of the companion
  (:func:`shape_kind`: smooth, edge-on disc, clumpy disc, spiral, irregular), the share of
  their blends in each class: which shapes sep splits ("more than two") or merges.

Two ways to run the stages:

* in this process (default), with the package's stage functions
  (:func:`blendphot.stages.run_stage`), writing the workflow's own paths under
  ``--work/results/<dataset>/``; ``--set NAME=VALUE`` overrides a shape constant of
  :mod:`blendphot.sky.synthetic` in this process only (``DISC_CLUMPY``, ``DISC_KNOT_FRACTION``,
  ``DISC_KNOTS``, ``SPIRAL_SHARE``, ``SPIRAL_ARM_FRACTION``, ``IRREGULAR_OFFSET``,
  ``IRREGULAR_KNOT_FRACTION``; VALUE a Python literal) to scan them without editing the
  package; ``--test-only`` writes the test blends alone (the train and validation blends are
  drawn, so the test set is the workflow's, but not written) and runs the isophotal pass alone
  (no Kron, no isolated reference): what a scan needs;
* ``--snakemake``: Snakemake itself on ``results/<dataset>/baseline/sep.csv`` in ``--work``
  (the real workflow, every blend set written; no ``--set``).

    python benchmarks/detection_classes.py --work /tmp/dc/demo --test-only
    python benchmarks/detection_classes.py --config-overlay config/paper.yaml \
        --work /tmp/dc/paper --snakemake --markdown docs/studies/tables/detection-classes.md
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blendphot.baseline.run import (  # noqa: E402
    PAPER_DETECTION_PERCENT,
    detection_percent,
    flux_errors,
    measure_set,
)
from blendphot.config import merged_config  # noqa: E402
from blendphot.docs import git_commit  # noqa: E402

CLASS_CODES = (2, 1, 0, 3)
"""Both found, companion only, central only, more than two (the paper's order)."""
CLASS_LABELS = {2: "both", 1: "companion only", 0: "central only", 3: "more than two"}
PAPER_MAPE = {"central": 33.6, "companion": 40.6}
"""The paper's sep isophotal flux MAPE (per cent) of the Figure 5 selection."""
SHAPE_CONSTANTS = (
    "DISC_CLUMPY",
    "DISC_KNOT_FRACTION",
    "DISC_KNOTS",
    "SPIRAL_SHARE",
    "SPIRAL_ARM_FRACTION",
    "IRREGULAR_OFFSET",
    "IRREGULAR_KNOT_FRACTION",
)
EDGE_ON = 75.0
"""Degrees of inclination from which a disc without clumps or arms counts as edge-on."""
KINDS = ("smooth", "edge-on disc", "clumpy disc", "spiral", "irregular")


def shape_kind(row: dict | pd.Series) -> str:
    """The realistic shape an object of the synthetic catalogue was drawn with: ``spiral``
    (knotty arms), ``clumpy disc`` (a disc or bulge+disc with clumps), ``irregular`` (a
    lopsided irregular), ``edge-on disc`` (a disc or bulge+disc, no clumps nor arms, seen at
    >= :data:`EDGE_ON` degrees), else ``smooth`` (spheroids, and every object of a sky drawn
    without ``realistic_shapes``)."""
    from blendphot.sky.synthetic import THICKNESS, inclination

    if not bool(row.get("realistic", False)):
        return "smooth"
    kind = str(row["type"]).strip()
    if kind == "irr":
        return "irregular" if float(row.get("knot_offset", 0.0)) > 0 else "smooth"
    if kind not in ("disk", "sphd"):
        return "smooth"
    if float(row.get("arm_fraction", 0.0)) > 0:
        return "spiral"
    if kind in ("disk", "sphd") and float(row.get("knot_fraction", 0.0)) > 0:
        return "clumpy disc"
    if inclination(float(row["q"]), THICKNESS["disk"]) >= EDGE_ON:
        return "edge-on disc"
    return "smooth"


def class_percent(detection: np.ndarray) -> dict[int, float]:
    """Per cent of the blends in each class of :data:`CLASS_CODES`."""
    detection = np.asarray(detection)
    n = max(len(detection), 1)
    return {c: 100.0 * float((detection == c).sum()) / n for c in CLASS_CODES}


def bootstrap_sd(
    detection: np.ndarray, galaxies: np.ndarray, n_boot: int = 500, seed: int = 0
) -> dict[int, float]:
    """Standard deviation of each class's per cent over ``n_boot`` resamplings of the distinct
    galaxies: ``galaxies`` (N,) or (N, 2), each blend's central (and companion). The galaxies
    are drawn with replacement and each blend weighs the product of its galaxies' draws (a
    pigeonhole bootstrap): the sampling noise of blends that share galaxies. It overstates
    the spread where blends share no galaxy (a weight is then a product of two independent
    draws); with each galaxy in many blends, the galaxies' own effects dominate."""
    detection = np.asarray(detection)
    galaxies = np.asarray(galaxies).reshape(len(detection), -1)
    keys, index = np.unique(galaxies, return_inverse=True)
    index = index.reshape(galaxies.shape)
    onehot = np.stack([detection == c for c in CLASS_CODES], axis=1).astype(float)
    rng = np.random.default_rng(seed)
    shares = np.empty((n_boot, len(CLASS_CODES)))
    for b in range(n_boot):
        drawn = np.bincount(rng.integers(0, len(keys), len(keys)), minlength=len(keys))
        weight = drawn[index].prod(axis=1).astype(float)
        shares[b] = 100.0 * (weight @ onehot) / max(weight.sum(), 1.0)
    return {c: float(shares[:, i].std(ddof=1)) for i, c in enumerate(CLASS_CODES)}


def breakdown(
    detection: np.ndarray, labels: pd.Series, role: str, by: str, min_n: int = 1
) -> pd.DataFrame:
    """Per value of ``labels`` (the central's or companion's type or kind): its blends and the
    per cent of them in each class."""
    frame = pd.DataFrame({"label": labels.to_numpy(), "detection": np.asarray(detection)})
    rows = []
    for label, part in frame.groupby("label", sort=False):
        if len(part) < min_n:
            continue
        pct = class_percent(part["detection"].to_numpy())
        shares = {CLASS_LABELS[c]: pct[c] for c in CLASS_CODES}
        rows.append({"role": role, by: label, "n": len(part), **shares})
    out = pd.DataFrame(rows)
    order = {"sph": 0, "disk": 1, "sphd": 2, "irr": 3, **{k: i for i, k in enumerate(KINDS)}}
    return out.sort_values(by, key=lambda s: s.map(order)).reset_index(drop=True)


def set_constants(overrides: list[str]) -> dict:
    """Set shape constants of blendphot.sky.synthetic in this process: NAME=VALUE each."""
    from blendphot.sky import synthetic

    done = {}
    for item in overrides:
        name, _, text = item.partition("=")
        name = name.strip()
        if name not in SHAPE_CONSTANTS or not hasattr(synthetic, name):
            raise SystemExit(
                f"--set: {name!r} is not a shape constant ({', '.join(SHAPE_CONSTANTS)})"
            )
        value = ast.literal_eval(text.strip())
        setattr(synthetic, name, value)
        done[name] = value
    return done


def constants() -> dict:
    """The shape constants in force in this process."""
    from blendphot.sky import synthetic

    return {n: getattr(synthetic, n) for n in SHAPE_CONSTANTS if hasattr(synthetic, n)}


def run_in_process(config: dict, work: Path, test_only: bool) -> Path:
    """The stages up to the baseline on the test blends, in this process; returns sep.csv."""
    from blendphot.stages import run_stage

    res = work / "results" / config["dataset"]
    files = {
        "mosaic": res / "sky" / "mosaic.fits",
        "catalog": res / "sky" / "catalog.fits",
        "stamps": res / "stamps" / "stamps.h5",
        "table1": res / "tables" / "table1.csv",
        "cleaning": res / "stamps" / "cleaning.csv",
        **{split: res / "blends" / f"{split}.h5" for split in ("train", "val", "test")},
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    as_str = {k: str(v) for k, v in files.items()}
    timed(lambda: run_stage("synthetic_sky", config, {}, pick(as_str, "mosaic", "catalog"), {}),
          "sky")  # fmt: skip
    inputs = pick(as_str, "mosaic", "catalog")
    outputs = pick(as_str, "stamps", "table1", "cleaning")
    timed(lambda: run_stage("stamps", config, inputs, outputs, {}), "stamps")
    if test_only:
        skip_train_val()
    splits = pick(as_str, "train", "val", "test")
    timed(lambda: run_stage("blend_sets", config, pick(as_str, "stamps"), splits, {}), "blends")
    out = res / "baseline" / ("sep_isophotal.csv" if test_only else "sep.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    if test_only:
        result = timed(lambda: measure_set(files["test"], config["baseline"], kron=False,
                                           reference=False), "baseline")  # fmt: skip
        result.to_csv(out, index=False)
        return out
    shards = [
        res / "baseline" / "shards" / f"sep_{k}.csv" for k in range(config["baseline"]["shards"])
    ]
    shards[0].parent.mkdir(parents=True, exist_ok=True)
    for k, shard in enumerate(shards):
        timed(lambda k=k, shard=shard: run_stage("sep_baseline_shard", config, pick(as_str, "test"),
              {"shard": str(shard)}, {"shard": k}), f"baseline shard {k}")  # fmt: skip
    gather = {"test": as_str["test"], "shards": [str(s) for s in shards]}
    table3 = res / "tables" / "table3.csv"
    run_stage("sep_baseline", config, gather, {"baseline": str(out), "table3": str(table3)}, {})
    for shard in shards:
        shard.unlink()
    return out


def skip_train_val() -> None:
    """Draw every split (the test set stays the workflow's) but write the test blends alone."""
    import blendphot.blends.build as build

    original = build.write_blend_set

    def write_blend_set(source, catalog, members, shifts, out_path, attrs, *args, **kwargs):
        if attrs["split"] == "test":
            original(source, catalog, members, shifts, out_path, attrs, *args, **kwargs)

    build.write_blend_set = write_blend_set
    build.check_disjoint_splits = lambda *args, **kwargs: None


def run_snakemake(configs: list[Path], dataset: str, work: Path, cores: int) -> Path:
    """Snakemake on the sep baseline of the test blends in ``work`` (the default config, then
    the overlays, all given as ``--configfile``); returns sep.csv."""
    target = f"results/{dataset}/baseline/sep.csv"
    command = ["snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work), "-c", str(cores)]
    command += ["--configfile", *(str(Path(p).resolve()) for p in configs)]
    command += ["--", target]
    timed(lambda: subprocess.run(command, check=True), "snakemake")
    return work / target


def pick(mapping: dict, *keys: str) -> dict:
    return {k: mapping[k] for k in keys}


def timed(call, label: str):
    start = time.perf_counter()
    out = call()
    print(f"[{label}: {time.perf_counter() - start:.0f} s]", flush=True)
    return out


def analyse(sep_csv: Path, test_h5: Path, catalog_fits: Path, n_boot: int) -> dict:
    """Classes, bootstrap noise, MAPE and the breakdowns of one run."""
    from astropy.table import Table

    from blendphot.blends import open_blend_set
    from blendphot.io import read_table

    result = pd.read_csv(sep_csv)
    with open_blend_set(test_h5) as h5:
        table = read_table(h5["table"])
        true_flux = h5["flux"][()].astype(float)
    catalog = Table.read(catalog_fits).to_pandas()
    catalog["type"] = catalog["type"].map(lambda t: t.decode() if isinstance(t, bytes) else t)
    catalog["kind"] = [shape_kind(r) for r in catalog.to_dict("records")]
    by_id = catalog.set_index("id")
    detection = result["detection"].to_numpy()
    percent = detection_percent(result["detection"]).set_index("code")["percent"]
    noise = bootstrap_sd(detection, table[["g1_id", "g2_id"]].to_numpy(), n_boot)
    errors = flux_errors(result, true_flux)
    iso = errors[errors["estimator"] == "isophotal"].set_index("role")
    parts = []
    for role, g in (("central", "g1"), ("companion", "g2")):
        ids = table[f"{g}_id"].to_numpy()
        types = by_id.loc[ids, "type"].reset_index(drop=True)
        kinds = by_id.loc[ids, "kind"].reset_index(drop=True)
        parts.append(("type", breakdown(detection, types, role, "type")))
        parts.append(("kind", breakdown(detection, kinds, role, "kind")))
    return {
        "n_blends": int(len(result)),
        "n_centrals": int(len(np.unique(table["g1_id"]))),
        "n_galaxies": int(len(np.unique(np.concatenate([table["g1_id"], table["g2_id"]])))),
        "percent": {int(c): float(percent.get(c, 0.0)) for c in CLASS_CODES},
        "percent_exact": class_percent(detection),
        "bootstrap_sd": noise,
        "mape": {r: float(iso.loc[r, "mape_percent"]) for r in ("central", "companion")},
        "mape_n": {r: int(iso.loc[r, "n"]) for r in ("central", "companion")},
        "breakdown": {
            by: pd.concat([t for b, t in parts if b == by], ignore_index=True)
            for by in ("type", "kind")
        },
        "kind_share": catalog.loc[catalog["primary"].astype(bool), "kind"]
        .value_counts(normalize=True)
        .to_dict(),
    }


def class_table(res: dict) -> str:
    """Markdown: each class, measured (+- bootstrap sd), paper, difference; then the MAPE."""
    lines = ["| class | measured % | paper % | measured - paper |", "|---|---|---|---|"]
    for c in CLASS_CODES:
        got, paper = res["percent_exact"][c], PAPER_DETECTION_PERCENT[c]
        lines.append(f"| {CLASS_LABELS[c]} ({c}) | {got:.1f} ± {res['bootstrap_sd'][c]:.1f} "
                     f"| {paper:.1f} | {got - paper:+.1f} |")  # fmt: skip
    for role in ("central", "companion"):
        got, paper = res["mape"][role], PAPER_MAPE[role]
        lines.append(f"| sep isophotal MAPE, {role} (n = {res['mape_n'][role]}) | {got:.1f} "
                     f"| {paper:.1f} | {100 * (got / paper - 1):+.0f} % (relative) |")  # fmt: skip
    return "\n".join(lines) + "\n"


def breakdown_table(frame: pd.DataFrame, by: str) -> str:
    cols = ["role", by, "n", *(CLASS_LABELS[c] for c in CLASS_CODES)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for values in frame.to_dict("records"):
        cells = [str(values["role"]), str(values[by]), str(values["n"])]
        cells += [f"{values[CLASS_LABELS[c]]:.1f}" for c in CLASS_CODES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report(res: dict, meta: dict) -> str:
    """The run's Markdown: a comment with the date, commit and command, then the tables."""
    kinds = ", ".join(f"{k} {100 * v:.0f} %" for k, v in sorted(res["kind_share"].items()))
    consts = "; ".join(f"{k} = {v}" for k, v in meta["constants"].items())
    return (
        f"\n<!-- {meta['date']} commit {meta['commit']}: `{meta['command']}` -->\n\n"
        f"**{meta['label']}**: dataset {meta['dataset']}, seed {meta['seed']}, "
        f"{res['n_blends']} test blends of {res['n_galaxies']} distinct galaxies "
        f"({res['n_centrals']} distinct centrals); shape constants {consts}; primaries by shape "
        f"kind: {kinds}.\n\n"
        f"{class_table(res)}\n"
        "Per cent of the blends in each class, by the central's and the companion's type:\n\n"
        f"{breakdown_table(res['breakdown']['type'], 'type')}\n"
        "By their shape kind:\n\n"
        f"{breakdown_table(res['breakdown']['kind'], 'kind')}"
    )


HEADER = (
    "# sep's detection classes against the paper's (benchmarks/detection_classes.py)\n\n"
    "Each run appends its tables: the command, the date and the commit in the comment above "
    "them. Classes: both found (2), only the companion (1), only the central (0), more than "
    "two (3); ± is the standard deviation of a bootstrap over the test set's distinct galaxies "
    "(each blend weighted by the draws of its central and its companion). MAPE: sep "
    "isophotal flux / true - 1 over the blends where sep found that galaxy (the baseline's "
    "`flux errors` log, the Figure 5 selection); paper 33.6 / 40.6 %.\n"
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    ap.add_argument("--config-overlay", type=Path, action="append", default=[],
                    help="overlay deep-merged over --config (repeatable, in order)")  # fmt: skip
    ap.add_argument("--work", type=Path, required=True, help="work directory of the run")
    ap.add_argument("--seed", type=int, default=None, help="master seed (default: the config's)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a shape constant in this process")  # fmt: skip
    ap.add_argument("--test-only", action="store_true", help="test blends, isophotal pass only")
    ap.add_argument("--snakemake", action="store_true", help="run the workflow's rules instead")
    ap.add_argument("--cores", type=int, default=1, help="Snakemake's -c")
    ap.add_argument("--analyse-only", action="store_true", help="reuse the work dir's outputs")
    ap.add_argument("--bootstrap", type=int, default=500)
    ap.add_argument("--label", default=None, help="the run's name in the Markdown")
    ap.add_argument("--markdown", type=Path, default=None, help="append the tables to FILE")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers to FILE")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    config = merged_config(args.config, args.config_overlay)
    if args.seed is not None:
        config["seed"] = args.seed
    overrides = set_constants(args.set)
    if args.snakemake and (overrides or args.seed is not None or args.test_only):
        raise SystemExit("--snakemake runs the package as it is: no --set, --seed, --test-only")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    res_dir = work / "results" / config["dataset"]
    if args.analyse_only:
        found = (res_dir / "baseline" / name for name in ("sep.csv", "sep_isophotal.csv"))
        sep_csv = next(p for p in found if p.exists())
    elif args.snakemake:
        configs = [args.config, *args.config_overlay]
        sep_csv = run_snakemake(configs, config["dataset"], work, args.cores)
    else:
        sep_csv = run_in_process(config, work, args.test_only)
    res = analyse(sep_csv, res_dir / "blends" / "test.h5", res_dir / "sky" / "catalog.fits",
                  args.bootstrap)  # fmt: skip
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "command": shlex.join(["python", *sys.argv]),
        "label": args.label
        or ("overrides " + json.dumps(overrides) if overrides else "package defaults"),
        "dataset": config["dataset"],
        "seed": config["seed"],
        "constants": constants(),
    }
    text = report(res, meta)
    print(text)
    if args.json:
        plain = {k: v for k, v in res.items() if k != "breakdown"}
        plain["breakdown"] = {b: t.to_dict("records") for b, t in res["breakdown"].items()}
        args.json.write_text(json.dumps({**plain, **meta}, indent=1, default=str))
    if args.markdown:
        if not args.markdown.exists():
            args.markdown.parent.mkdir(parents=True, exist_ok=True)
            args.markdown.write_text(HEADER)
        with args.markdown.open("a") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
