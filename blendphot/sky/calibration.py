"""Calibration of the synthetic sky against the paper's published galaxies.

The reference is the per-blend table that the paper's authors released
(``paper_output_catalog.csv``: 4776 test blends of real CANDELS galaxies). Its ``g1_*`` and
``g2_*`` columns describe the central and the companion galaxy; the unique galaxies among them
(1050) are the real sample the synthetic sky is matched to.

Run ``python -m blendphot.sky.calibration`` to print the comparison for a freshly drawn
2000-galaxy catalogue, or ``python -m blendphot.sky.calibration --write-priors`` to regenerate
:mod:`blendphot.sky.priors_data` from the reference table (then ``ruff format`` it).
"""

from __future__ import annotations

import argparse
import pprint
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from blendphot.data import paper_table_path
from blendphot.io import read_csv_checked
from blendphot.sky.priors import PROPERTIES

GALAXY_TYPES = ("sph", "disk", "sphd", "irr")
QUANTILE_LEVELS = (0.0, 0.01, 0.02, 0.05, *np.round(np.arange(0.1, 0.91, 0.05), 2), 0.95, 0.98)
QUANTILE_LEVELS = tuple(float(q) for q in (*QUANTILE_LEVELS, 0.99, 1.0))
"""Probability levels at which the per-type quantile functions are tabulated."""


def reference_path(configured: str | Path | None = None) -> Path:
    """The reference table: ``configured`` when given, else the copy shipped in the package."""
    return paper_table_path(configured)


def load_reference_galaxies(path: str | Path) -> pd.DataFrame:
    """Unique galaxies (id, mag, radius, z, type) of the paper's published per-blend table."""
    fields = {"id": "id", "mag": "mag", "rad": "radius", "z": "z", "type": "type"}
    table = read_csv_checked(
        path,
        [f"{g}_{f}" for g in ("g1", "g2") for f in fields],
        "the paper's reference table (paper_output_catalog.csv) was not found; the package "
        "ships it as blendphot/data/paper_output_catalog.csv: reinstall blendphot",
    )
    parts = [
        table[[f"{g}_{f}" for f in fields]].set_axis(list(fields.values()), axis=1)
        for g in ("g1", "g2")
    ]
    galaxies = pd.concat(parts, ignore_index=True).drop_duplicates("id")
    galaxies["type"] = galaxies["type"].astype(str)
    return galaxies.sort_values("id").reset_index(drop=True)


def priors_from_reference(galaxies: pd.DataFrame) -> dict:
    """Per-type priors: type fraction, quantile tables and the Gaussian-copula correlation.

    The correlation between (mag, radius, z) is Spearman's rank correlation turned into the
    matching Gaussian-copula coefficient, 2 sin(pi rho_s / 6).
    """
    levels = np.array(QUANTILE_LEVELS)
    out: dict = {"levels": list(QUANTILE_LEVELS), "types": {}}
    fractions = galaxies["type"].value_counts(normalize=True)
    for kind in GALAXY_TYPES:
        sub = galaxies[galaxies["type"] == kind]
        rho = stats.spearmanr(sub[list(PROPERTIES)]).statistic
        corr = 2.0 * np.sin(np.pi * np.asarray(rho) / 6.0)
        out["types"][kind] = {
            "fraction": round(float(fractions.get(kind, 0.0)), 4),
            "quantiles": {
                p: [round(float(v), 4) for v in np.quantile(sub[p], levels)] for p in PROPERTIES
            },
            "correlation": [[round(float(v), 4) for v in row] for row in corr],
        }
    return out


def compare_to_reference(sample: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Two-sample KS tests (magnitude, redshift, magnitude and radius per type) and fractions.

    Returns one row per check: check, type ('all' or a type), n_sample, n_reference, statistic
    (KS D, or the sample-minus-reference type fraction) and p_value (NaN for fractions).
    """
    rows = []

    def ks(check: str, kind: str, a: pd.Series, b: pd.Series) -> None:
        a, b = a.dropna(), b.dropna()
        if len(a) == 0 or len(b) == 0:
            rows.append((check, kind, len(a), len(b), np.nan, np.nan))
            return
        res = stats.ks_2samp(a, b)
        rows.append((check, kind, len(a), len(b), float(res.statistic), float(res.pvalue)))

    ks("mag", "all", sample["mag"], reference["mag"])
    ks("z", "all", sample["z"], reference["z"])
    for kind in GALAXY_TYPES:
        a, b = sample[sample["type"] == kind], reference[reference["type"] == kind]
        ks("radius", kind, a["radius"], b["radius"])
        ks("mag", kind, a["mag"], b["mag"])
    frac_s = sample["type"].value_counts(normalize=True)
    frac_r = reference["type"].value_counts(normalize=True)
    for kind in GALAXY_TYPES:
        diff = float(frac_s.get(kind, 0.0) - frac_r.get(kind, 0.0))
        n_s, n_r = int((sample["type"] == kind).sum()), int((reference["type"] == kind).sum())
        rows.append(("fraction", kind, n_s, n_r, diff, np.nan))
    columns = ["check", "type", "n_sample", "n_reference", "statistic", "p_value"]
    return pd.DataFrame(rows, columns=columns)


def _priors_module_text(priors: dict, source: Path) -> str:
    """Source text of blendphot/sky/priors_data.py for the given priors."""
    return (
        '"""CANDELS-like galaxy priors, generated by ``python -m blendphot.sky.calibration '
        "--write-priors``.\n\n"
        "Derived from the unique galaxies of the paper's published test table\n"
        f"({source.name}, aboucaud/coindeblend, BSD-3-Clause): per type, the type fraction,\n"
        "the quantile function of (mag, radius, z) tabulated at ``levels``, and the\n"
        "Gaussian-copula correlation matrix of (mag, radius, z). Do not edit by hand.\n"
        '"""\n\n'
        f"CANDELS_PRIORS = {pprint.pformat(priors, width=96, sort_dicts=False)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the comparison of a drawn catalogue with the reference, or rewrite the priors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference", default=None, help="paper_output_catalog.csv (default: the shipped copy)"
    )
    parser.add_argument("--config", default="config/config.yaml", help="default: %(default)s")
    parser.add_argument("--n-galaxies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    parser.add_argument("--write-priors", action="store_true", help="rewrite priors_data.py")
    parser.add_argument(
        "--markdown", default=None, help="also write the table, with the command, for a study page"
    )
    args = parser.parse_args(argv)
    path = reference_path(args.reference)
    reference = load_reference_galaxies(path)
    if args.write_priors:
        target = Path(__file__).with_name("priors_data.py")
        target.write_text(_priors_module_text(priors_from_reference(reference), path))
        print(f"wrote {target}")
        return 0
    from blendphot.config import load_config
    from blendphot.sky.settings import SkySettings
    from blendphot.sky.synthetic import draw_galaxy_catalog

    config = load_config(args.config)
    seed = config["seed"] if args.seed is None else args.seed
    sky = SkySettings.of({**config["sky"], "n_galaxies": args.n_galaxies})
    catalog = draw_galaxy_catalog(sky, seed)
    sample = catalog[catalog["primary"]]
    table = compare_to_reference(sample, reference)
    print(f"reference: {path} ({len(reference)} unique galaxies)")
    print(f"synthetic: {len(sample)} galaxies drawn with {args.config} sky settings, seed {seed}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.markdown:
        from blendphot.docs import write_study_table
        from blendphot.evaluate.tables import markdown_table

        given = sys.argv[1:] if argv is None else argv
        command = shlex.join(["python", "-m", "blendphot.sky.calibration", *given])
        write_study_table(args.markdown, markdown_table(table.round(4)), command=command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
