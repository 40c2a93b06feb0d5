"""Benchmark: calibration groupings of the flux uncertainties, side by side, on a finished run.

Reads ``results/<dataset>/`` (``output_catalog.csv``, ``calibration/validation_catalog.csv``,
``config.yaml``) and, for each grouping (magnitude-difference edges x sep's detection class or
groups of sep's detection separation, x groups of the method's own magnitude), fits the
calibration on the validation blends and prints per method the test set's 68% and 95% coverage
and the worst 68% bin over the bins of the truth (magnitude difference, distance/radius) and of
the observables (own magnitude, sep's separation; as ``tables/uncertainty.md``), then the mean
over the methods; and the same scores from a cross-validation within the validation galaxies
(fit on the entries of a random half of them, score on the other half, both ways, ``--splits``
times), which does not look at the test set. ``--crosstab COLUMN`` also prints, for the
configured grouping and one method (a catalogue column suffix, e.g. b2f), the test set's 68%
coverage per bin of the true magnitude difference (rows) and group the method's own fluxes put
the galaxy in (columns): what a galaxy measured in the wrong group gets. ``--reverse`` also
fits each grouping on the test blends and scores it on the validation ones: a bin that misses
in both directions is a lasting miss, one that moves is sampling noise. It prints first how
closely sep's detection separation (the only observable of the overlap the groups can use)
follows the true distance / radius of the figure-5 galaxies.

Usage: python benchmarks/uncertainty_groups.py [--results results/demo] [--splits 8]
       [--crosstab b2f] [--reverse]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from blendphot.evaluate import uncertainty as U
from blendphot.evaluate.methods import evaluation_methods

FINE = [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]
SEP3 = [1.2, 1.8, 2.5]
GROUPINGS = {  # name: (magnitude-difference edges, separation edges or None, by detection,
    # equal-count groups of the method's own magnitude)
    "mag [-1,0,1] x detection": ([-1.0, 0.0, 1.0], None, True, 1),
    "mag [-1,0,1] alone": ([-1.0, 0.0, 1.0], None, False, 1),
    "mag [-1.5..1.5 by 0.5] x detection": (FINE, None, True, 1),
    "mag [-1,0,1] x separation [1.2,1.8,2.5]": ([-1.0, 0.0, 1.0], SEP3, False, 1),
    "mag [-1,0,1] x detection x own mag 3": ([-1.0, 0.0, 1.0], None, True, 3),
    "mag [-1,0,1] x separation [1.2,1.8,2.5] x own mag 3": ([-1.0, 0.0, 1.0], SEP3, False, 3),
    "mag [0] x separation [1.2,1.8,2.5] x own mag 3": ([0.0], SEP3, False, 3),
    "separation [1.2,1.8,2.5] x own mag 2": ([], SEP3, False, 2),
    "separation [1.2,1.8,2.5] x own mag 3": ([], SEP3, False, 3),
    "separation [1.2,1.8,2.5] x own mag 4": ([], SEP3, False, 4),
    "detection x own mag 3": ([], None, True, 3),
}


def scores(fit_on: pd.DataFrame, score_on: pd.DataFrame, methods, grouping, min_group):
    """Per method: |68% coverage - nominal|, |95% - 95|, worst 68% bin per binned axis
    (points; the truth's axes and the observables', BINNED_AXES)."""
    from blendphot.evaluate.metrics import BINNED_AXES

    edges, separation, by_detection, magnitude_groups = grouping
    fits = U.fit_calibration(
        fit_on,
        [m.column for m in methods],
        edges,
        min_group,
        by_detection,
        separation,
        magnitude_groups,
    )
    table = U.uncertainty_table(score_on, methods, fits)
    table = table[(table.selection == "all") & (table.role == "both")].set_index("method")
    binned = U.binned_coverage(score_on, methods, fits)
    binned = binned[(binned.role == "both") & (binned.n_coverage >= U.MIN_BIN)]
    out = pd.DataFrame(
        {
            "c68": table.coverage68,
            "off68": (table.coverage68 - 100 * U.ONE_SIGMA).abs(),
            "off95": (table.coverage95 - 95).abs(),
        }
    )
    for axis in BINNED_AXES:
        part = binned[binned.axis == axis]
        out[f"worst68_{axis}"] = (
            (part.coverage68 - 100 * U.ONE_SIGMA).abs().groupby(part.method).max()
        )
    return out


def halves(catalog: pd.DataFrame, keep: set) -> pd.DataFrame:
    """The catalogue with the truth of the entries whose galaxy is not in ``keep`` removed
    (such entries drop out of both the fit and the scores)."""
    out = catalog.copy()
    for prefix in ("g1", "g2"):
        out.loc[~out[f"{prefix}_id"].isin(keep), f"{prefix}_flux"] = np.nan
    return out


def crosstab(val: pd.DataFrame, test: pd.DataFrame, method, options: dict) -> pd.DataFrame:
    """Test 68% coverage (per cent) and entries per true magnitude-difference bin (the binned
    metrics' edges) and calibration group of one method (figure-5 selection)."""
    from blendphot.evaluate.metrics import axis_edges, catalog_selections, role_quantities

    edges, by_detection = options["groups"], options["by_detection"]
    fit = U.fit_calibration(val, [method.column], edges, options["min_group"], by_detection)
    fit = fit[method.column]
    own = U.has_raw_widths(test, method.column)
    selected = catalog_selections(test)["figure5"]
    parts = []
    for role in U.role_prefixes(test):
        arrays = {k: v[selected[role]] for k, v in U.role_arrays(test, method.column, role).items()}
        true_dmag = role_quantities(test, role)["mag_difference"][selected[role]]
        parts.append(
            pd.DataFrame(
                {
                    "true": true_dmag,
                    "group": U.groups(arrays, edges, by_detection),
                    "covered": U.coverage_flags(arrays, fit, own, U.ONE_SIGMA, False),
                    "kept": np.isfinite(arrays["flux"]) & np.isfinite(arrays["true"]),
                }
            )
        )
    data = pd.concat(parts)
    data = data[data.kept]
    data["true bin"] = pd.cut(data["true"], axis_edges("mag_difference", data["true"].to_numpy()))
    cover = data.pivot_table("covered", "true bin", "group", aggfunc="mean", observed=True)
    count = data.pivot_table("covered", "true bin", "group", aggfunc="size", observed=True)
    return (
        (100 * cover).round(0).astype("Int64").astype(str)
        + " ("
        + count.astype("Int64").astype(str)
        + ")"
    )


def separation_agreement(test: pd.DataFrame) -> str:
    """Pearson correlation of sep's detection separation with the true distance / radius, and
    the share of the figure-5 galaxies it exists for (both roles)."""
    from blendphot.evaluate.metrics import catalog_selections, role_quantities

    if "sep_separation" not in test:
        return "no sep_separation column"
    selected = catalog_selections(test)["figure5"]
    true, seen = [], []
    for role in U.role_prefixes(test):
        true.append(role_quantities(test, role)["distance_over_radius"][selected[role]])
        seen.append(test["sep_separation"].to_numpy(float)[selected[role]])
    true, seen = np.concatenate(true), np.concatenate(seen)
    both = np.isfinite(true) & np.isfinite(seen)
    r = np.corrcoef(true[both], seen[both])[0, 1]
    return (
        f"sep's detection separation against the true distance / radius: Pearson r {r:.2f} "
        f"over the {both.sum()} of {true.size} figure-5 entries that have one"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results/demo"))
    parser.add_argument("--splits", type=int, default=8)
    parser.add_argument("--crosstab", help="a method's column suffix (e.g. b2f)")
    parser.add_argument(
        "--reverse", action="store_true", help="also fit on the test set, score on validation"
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the table, with the command, date and commit, for a study page",
    )
    args = parser.parse_args()
    settings = yaml.safe_load((args.results / "config.yaml").read_text())
    test = pd.read_csv(args.results / "output_catalog.csv")
    val = pd.read_csv(args.results / "calibration" / "validation_catalog.csv")
    methods = evaluation_methods(settings, settings["dataset"], test)
    min_group = settings["uncertainty"]["min_group"]
    print(separation_agreement(test))
    if args.crosstab:
        (method,) = [m for m in methods if m.column == args.crosstab]
        print(
            f"{method.label}: test 68% coverage per cent (entries) per true magnitude "
            "difference (rows) and calibration group of its own fluxes (columns; "
            f"{settings['uncertainty']['groups']}, then no flux for the other galaxy, then the "
            "same where sep did not find exactly the two)"
        )
        print(crosstab(val, test, method, settings["uncertainty"]).to_string())
    ids = np.unique(np.r_[val["g1_id"], val["g2_id"]])
    rng = np.random.default_rng(0)
    splits = [set(rng.permutation(ids)[: ids.size // 2]) for _ in range(args.splits)]
    summary, worst, reverse = {}, {}, {}
    for name, grouping in GROUPINGS.items():
        on_test = scores(val, test, methods, grouping, min_group)
        print(f"\n{name}: test set\n{on_test.round(2).to_string()}")
        if args.reverse:
            back = scores(test, val, methods, grouping, min_group)
            print(
                f"{name}: fitted on the test set, scored on validation\n{back.round(2).to_string()}"
            )
            reverse[name] = back.drop(columns="c68").max()
        cross = []
        for half in splits:
            a, b = halves(val, half), halves(val, set(ids) - half)
            cross += [
                scores(a, b, methods, grouping, min_group),
                scores(b, a, methods, grouping, min_group),
            ]
        cross = pd.concat(cross).groupby(level=0).mean()
        worst[name] = {
            **{f"test {k}": v for k, v in on_test.drop(columns="c68").max().items()},
            **{f"cv {k}": v for k, v in cross.drop(columns="c68").max().items()},
        }
        summary[name] = {
            **{f"test {k}": v for k, v in on_test.drop(columns="c68").mean().items()},
            **{f"cv {k}": v for k, v in cross.drop(columns="c68").mean().items()},
        }
    print("\nmean over the methods (points):")
    print(pd.DataFrame(summary).T.round(2).to_string())
    print("\nlargest over the methods (points):")
    print(pd.DataFrame(worst).T.round(2).to_string())
    if reverse:
        print("\nlargest over the methods, fitted on the test set and scored on validation:")
        print(pd.DataFrame(reverse).T.round(2).to_string())
    if args.markdown:
        from blendphot.docs import write_study_table
        from blendphot.evaluate.tables import markdown_table

        mean = pd.DataFrame(summary).T.round(2).reset_index(names="grouping")
        largest = pd.DataFrame(worst).T.round(2).reset_index(names="grouping")
        write_study_table(
            args.markdown,
            f"Mean over the methods (points):\n\n{markdown_table(mean)}\n"
            f"Largest over the methods (points):\n\n{markdown_table(largest)}",
        )


if __name__ == "__main__":
    main()
