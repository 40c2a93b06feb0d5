"""Section 4's stages: the output catalogue, the oracle floor, metrics and tables."""

from __future__ import annotations

import logging
from pathlib import Path

from blendphot.stages import stage

log = logging.getLogger("blendphot")

EVALUATION_SETTINGS = ("models", "methods", "sky.zeropoint", "evaluate")
"""What labelling and scoring the methods of a catalogue reads."""
ORACLE_TOLERANCE = 5.0
"""Points by which the oracle's raw 1-sigma coverage may miss 68.3% before a warning."""


@stage(inputs=("test",), outputs=("oracle",))
def oracle(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The physical floor: least-squares amplitudes of the known noiseless profiles."""
    from blendphot.evaluate.oracle import oracle_photometry

    oracle_photometry(Path(inputs["test"]), Path(outputs["oracle"]))


@stage(inputs=("val",), outputs=("oracle",))
def oracle_validation(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The oracle on the validation blends (for the calibration of the uncertainties)."""
    from blendphot.evaluate.oracle import oracle_photometry

    oracle_photometry(Path(inputs["val"]), Path(outputs["oracle"]))


def _catalog(settings: dict, inputs: dict, blends: str, out: str, calibration=None):
    """The output catalogue of one blend set from its inputs: the test set, with predictions
    of every model, or the validation set (``blends`` "val"), of the flux models only; the
    methods of one's own, the model-fitting baselines (scarlet) where given. A method of
    one's own whose file breaks the predictions contract is named, with its rule file."""
    from blendphot.contracts import match_predictions
    from blendphot.errors import InputError
    from blendphot.evaluate.catalog import FITTED_BASELINES, build_output_catalog
    from blendphot.evaluate.methods import method_columns, sep_zeropoint
    from blendphot.methods import extra_methods, method_error, method_of_file

    names = method_columns(settings, validation=blends == "val")
    columns = {name: col for name, col in names.items() if col is not None}  # flux methods
    try:  # predictions matched to methods by their model attribute, not by position
        files = match_predictions(inputs.get("predictions", []), list(names))
        return build_output_catalog(
            Path(inputs[blends]),
            {name: files[name] for name in columns},
            columns,
            Path(inputs["baseline"]),
            sep_zeropoint(settings),
            Path(out),
            oracle_path=Path(inputs["oracle"]) if inputs.get("oracle") else None,
            fitted={k: Path(inputs[k]) for k in FITTED_BASELINES if inputs.get(k)},
            calibration=calibration,
        )
    except InputError as exc:
        method = method_of_file(exc.path, extra_methods(settings))
        if method is not None:
            raise method_error(exc, method) from exc
        raise


@stage(
    inputs=("val", "predictions", "baseline", "oracle", "scarlet"),
    outputs=("catalog", "calibration"),
    settings=(*EVALUATION_SETTINGS, "uncertainty"),
    list_inputs=("predictions",),
    optional_inputs=("predictions", "oracle", "scarlet"),
)
def calibration(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The validation blends' catalogue, and the calibration of every method's uncertainties
    fitted on it alone (conformal quantiles of the normalised residuals, as JSON)."""
    import json

    from blendphot.evaluate.methods import evaluation_methods
    from blendphot.evaluate.uncertainty import (
        LEVELS,
        ONE_SIGMA,
        fit_calibration,
        uncertainty_table,
    )
    from blendphot.io import atomic_path

    catalog = _catalog(settings, inputs, "val", outputs["catalog"])
    methods = evaluation_methods(settings, "", catalog)
    options = settings["uncertainty"]
    fits = fit_calibration(
        catalog,
        [m.column for m in methods],
        options["groups"],
        options["min_group"],
        options["by_detection"],
        options.get("separation_groups"),
        options.get("magnitude_groups", 1),
    )
    k = LEVELS.index(ONE_SIGMA)
    for column, fit in fits.items():
        log.info(
            "%s: normaliser %s, galaxies per group %s, bad widths %d; 68%% quantiles of the "
            "normalised residual per group: lower %s, upper %s",
            column,
            fit["normaliser"],
            fit["n"],
            fit["n_bad_width"],
            [round(group[k], 3) for group in fit["lower"]],
            [round(group[k], 3) for group in fit["upper"]],
        )
    raw = uncertainty_table(catalog, methods, {})
    raw = raw[(raw["selection"] == "all") & (raw["role"] == "both")].set_index("method")
    log.info("raw coverage on the validation blends:\n%s", raw.filter(like="_raw").to_string())
    oracle = [m.label for m in methods if m.column == "oracle"]
    if oracle and abs(raw.loc[oracle[0], "coverage68_raw"] - 100 * ONE_SIGMA) > ORACLE_TOLERANCE:
        log.warning(  # its Cramer-Rao errors are right by construction: the machinery is not
            "the oracle's Cramer-Rao errors cover %.1f%% of the validation galaxies at 1 sigma "
            "(expected %.1f%%): check the noise level and the error propagation",
            raw.loc[oracle[0], "coverage68_raw"],
            100 * ONE_SIGMA,
        )
    with atomic_path(Path(outputs["calibration"])) as tmp:
        tmp.write_text(json.dumps(fits, indent=1))


@stage(
    inputs=("test", "predictions", "baseline", "oracle", "scarlet", "calibration"),
    outputs=("catalog",),
    settings=EVALUATION_SETTINGS,
    list_inputs=("predictions",),
    # no predictions: evaluate.networks false; scarlet only when scarlet.enabled; no
    # calibration: raw errors only
    optional_inputs=("predictions", "oracle", "scarlet", "calibration"),
)
def output_catalog(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Join truth, predictions, the sep baseline, scarlet (if on) and the oracle into
    output_catalog.csv, with every method's raw and calibrated flux uncertainties."""
    from blendphot.evaluate.catalog import methods_in

    fits = _read_calibration(inputs.get("calibration"))
    catalog = _catalog(settings, inputs, "test", outputs["catalog"], fits)
    missing = [m.column for m in methods_in(catalog, {}, 0.0, 0.0) if m.column not in (fits or {})]
    if fits is not None and missing:
        log.warning("no calibration for %s: no calibrated uncertainties", missing)


def _read_calibration(path: str | None) -> dict | None:
    """The fitted calibration (JSON) of the calibration stage; None without one."""
    import json

    from blendphot.errors import InputError

    if not path:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(Path(path), f"unreadable calibration: {exc}") from exc


@stage(inputs=("table",), outputs=("catalog",))
def paper_reference_catalog(
    settings: dict, inputs: dict, outputs: dict, params: dict, threads: int
):
    """The paper's published per-blend table, checked, as a dataset's output catalogue."""
    from blendphot.evaluate.reference import write_reference_catalog

    n = write_reference_catalog(Path(inputs["table"]), Path(outputs["catalog"]))
    log.info("paper reference: %d blends", n)


@stage(
    inputs=("catalog", "test", "calibration"),
    outputs=("metrics", "binned", "by_count"),
    params=("dataset",),
    settings=EVALUATION_SETTINGS,
    # the paper's reference table has no blend set and no uncertainties
    optional_inputs=("test", "calibration"),
)
def metrics(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Metrics per selection, method and role; the same per number of galaxies in the blend;
    binned statistics for Figures 7-9; with a calibration, the coverage of every method's
    uncertainties (overall and binned)."""
    from blendphot.contracts import blend_set_ids, read_output_catalog
    from blendphot.evaluate.methods import evaluation_methods
    from blendphot.evaluate.metrics import binned_table, count_metrics_table, metrics_table
    from blendphot.evaluate.uncertainty import binned_coverage, uncertainty_table
    from blendphot.io import write_csv

    ids = blend_set_ids(inputs["test"]) if inputs.get("test") else None
    catalog = read_output_catalog(inputs["catalog"], ids)  # every test blend, once
    methods = evaluation_methods(settings, params["dataset"], catalog)
    table = metrics_table(catalog, methods, settings["evaluate"]["outlier_threshold"])
    binned = binned_table(catalog, methods)
    fits = _read_calibration(inputs.get("calibration"))
    if fits is not None:
        keys = ["selection", "method", "role"]
        table = table.merge(uncertainty_table(catalog, methods, fits), on=keys, how="left")
        keys = ["method", "role", "axis", "type", "bin_low", "bin_high"]
        binned = binned.merge(binned_coverage(catalog, methods, fits), on=keys, how="left")
    write_csv(table, Path(outputs["metrics"]), float_format="%.6g")
    by_count = count_metrics_table(catalog, methods, settings["evaluate"]["outlier_threshold"])
    write_csv(by_count, Path(outputs["by_count"]), float_format="%.6g")
    write_csv(binned, Path(outputs["binned"]), float_format="%.6g")
    log.info(
        "metrics (figure-5 selection):\n%s",
        table[table.selection == "figure5"].to_string(index=False),
    )
    if by_count["n_galaxies"].nunique() > 1:
        log.info(
            "flux MAPE per number of galaxies and slot (figure-5 selection):\n%s",
            by_count[by_count.selection == "figure5"]
            .pivot_table("mape_flux", ["method", "role"], "n_galaxies", sort=False)
            .round(2)
            .to_string(),
        )


@stage(
    inputs=("catalog", "calibration", "metrics", "binned"),
    outputs=("csv", "md", "reliability_csv", "figure_png", "figure_pdf"),
    params=("dataset",),
    settings=EVALUATION_SETTINGS,
)
def uncertainty(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The uncertainty table (coverage raw and calibrated, sharpness, NLL, worst bin) and the
    reliability figure (nominal against empirical coverage, one curve per method)."""
    import pandas as pd

    from blendphot.contracts import read_output_catalog
    from blendphot.evaluate.methods import evaluation_methods
    from blendphot.evaluate.tables import write_table_files
    from blendphot.evaluate.uncertainty import (
        BOOTSTRAP_SEED,
        N_BOOTSTRAP,
        bootstrap_table,
        reliability_table,
        uncertainty_report,
    )
    from blendphot.figures.uncertainty import reliability_figure
    from blendphot.io import write_csv

    catalog = read_output_catalog(inputs["catalog"])
    methods = evaluation_methods(settings, params["dataset"], catalog)
    fits = _read_calibration(inputs["calibration"])
    report = uncertainty_report(
        pd.read_csv(inputs["metrics"]),
        pd.read_csv(inputs["binned"]),
        bootstrap_table(catalog, methods, fits, N_BOOTSTRAP, BOOTSTRAP_SEED),
    )
    report = report.round(2).assign(median_relative_width=report["median_relative_width"].round(4))
    write_table_files(
        report,
        Path(outputs["csv"]),
        Path(outputs["md"]),
        "Flux uncertainties on the test set (every galaxy with a flux, both roles): coverage "
        "(per cent) of the 68% and 95% intervals before (raw: the method's own errors) and "
        "after calibration on the validation set, median relative 1-sigma width, mean "
        "Gaussian NLL, bad widths, and the largest distance (points) of a bin's coverage "
        "from the nominal one (worst_bin) over the bins of the truth's magnitude difference "
        "and distance/radius, and of what a user measures: the method's own magnitude and "
        "sep's separation of the two detections (blends where it found both). "
        "Sampling noise of the few distinct test galaxies (blends share them): _se is the "
        f"standard error of a coverage from a bootstrap over the distinct galaxies "
        f"({N_BOOTSTRAP} replicates), _noise the worst-bin distance that this noise alone "
        "gives (median over the replicates of the largest deviation of a bin from its "
        "observed coverage).",
    )
    curves = reliability_table(catalog, methods, fits)
    write_csv(curves, Path(outputs["reliability_csv"]), float_format="%.6g")
    reliability_figure(curves, [Path(outputs["figure_png"]), Path(outputs["figure_pdf"])])
    log.info("uncertainties:\n%s", report.to_string(index=False))


@stage(
    inputs=("test", "predictions"),
    outputs=(
        "table",
        "summary_csv",
        "summary_md",
        "figure10_png",
        "figure10_pdf",
        "figure11_png",
        "figure11_pdf",
    ),
    settings=("models",),
    list_inputs=("predictions",),
)
def segmentation(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """IoU and overlap area of the mask models' segmentation; Figures 10 and 11."""
    from blendphot.contracts import match_predictions
    from blendphot.evaluate.segmentation import segmentation_summary, segmentation_table
    from blendphot.evaluate.tables import write_table_files
    from blendphot.figures.segmentation import figure10, figure11
    from blendphot.io import write_csv
    from blendphot.models.registry import mask_models

    files = match_predictions(inputs["predictions"], mask_models(settings["models"]))
    table = segmentation_table(Path(inputs["test"]), files)
    write_csv(table, Path(outputs["table"]), float_format="%.6g")
    summary = segmentation_summary(table).round(4)
    write_table_files(
        summary,
        Path(outputs["summary_csv"]),
        Path(outputs["summary_md"]),
        "Segmentation (paper 4.4): mean IoU per galaxy and overlap-area estimator delta_n.",
    )
    figure10(
        Path(inputs["test"]), files, [Path(outputs["figure10_png"]), Path(outputs["figure10_pdf"])]
    )
    figure11(table, [Path(outputs["figure11_png"]), Path(outputs["figure11_pdf"])])


@stage(
    inputs=("reference", "ours", "catalog", "segmentation"),
    outputs=("csv", "md", "claims"),
    params=("dataset",),
    settings=("models",),
    optional_inputs=("segmentation",),  # a run without mask models
)
def summary(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The paper's numbers (from its table) beside this project's, figure-5 selection; then
    the paper's claims, each checked on this run with the numbers it rests on."""
    import pandas as pd

    from blendphot.contracts import read_output_catalog
    from blendphot.evaluate.claims import check_claims, claims_markdown
    from blendphot.evaluate.reference import summary_table
    from blendphot.evaluate.tables import markdown_table
    from blendphot.io import atomic_path, write_csv
    from blendphot.models.registry import flux_models

    ours = pd.read_csv(inputs["ours"])
    table = summary_table(
        {"paper (published table)": pd.read_csv(inputs["reference"]),
         f"blendphot ({params['dataset']})": ours}
    )  # fmt: skip
    catalog = read_output_catalog(inputs["catalog"])
    pairs = "n_galaxies" not in catalog.columns or (catalog["n_galaxies"] == 2).all()
    models = settings["models"]
    networks = {name: models[name]["architecture"] for name in flux_models(models)}
    iou = {}
    if inputs.get("segmentation"):
        segmentation = pd.read_csv(inputs["segmentation"]).set_index("model")["mean_iou"]
        unets = [name for name in segmentation.index if models[name]["architecture"] == "unet"]
        iou = {name: float(segmentation[name]) for name in unets}
    detection = catalog["detection"].to_numpy() if pairs else None
    claims = check_claims(ours, networks, detection, iou)
    write_csv(table, Path(outputs["csv"]))
    write_csv(claims, Path(outputs["claims"]))
    title = (
        "Summary: the paper's results (its published table) and this project's, centrals and "
        "companions where sep found them (Figure 5 selection)."
    )
    with atomic_path(Path(outputs["md"])) as tmp:
        tmp.write_text(f"{title}\n\n{markdown_table(table)}\n{claims_markdown(claims)}")
    log.info("the paper's claims on this run:\n%s", claims.to_string(index=False))


@stage(inputs=("csv",), outputs=("md",), params=("title",))
def table_markdown(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """A CSV table as Markdown (Tables 1 and 3)."""
    import pandas as pd

    from blendphot.evaluate.tables import markdown_table
    from blendphot.io import atomic_path

    with atomic_path(Path(outputs["md"])) as tmp:
        tmp.write_text(f"{params['title']}\n\n{markdown_table(pd.read_csv(inputs['csv']))}")


@stage(
    inputs=("catalog", "summaries"),
    outputs=("csv", "md"),
    settings=("models", "methods", "evaluate.networks"),
    list_inputs=("summaries",),
    optional_inputs=("summaries",),
)
def table2(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Table 2: parameters and flux errors on the test set of every flux model, then of the
    methods of one's own and the baselines beside them."""
    import json

    from blendphot.contracts import read_output_catalog
    from blendphot.evaluate.catalog import FITTED_BASELINES
    from blendphot.evaluate.methods import METHOD_LABELS, flux_columns
    from blendphot.evaluate.tables import table2 as make_table2
    from blendphot.evaluate.tables import write_table_files
    from blendphot.methods import extra_methods

    catalog = read_output_catalog(inputs["catalog"])
    models = settings["models"]
    columns = flux_columns(models) if settings["evaluate"]["networks"] else {}
    summaries = dict(zip(columns, inputs.get("summaries") or [], strict=True))
    rows = {
        name: {
            "column": col,
            "architecture": models[name]["architecture"],
            "params": models[name].get("params", {}),
            "parameters": json.loads(Path(summaries[name]).read_text())["parameters"],
        }
        for name, col in columns.items()
    }
    for method in extra_methods(settings).values():  # parameters: not the workflow's to count
        rows[method.label] = {
            "column": method.column,
            "architecture": f"extra rule ({method.rule})",
            "params": dict(method.settings),
            "parameters": 0,
        }
    for name in FITTED_BASELINES:  # the model-fitting baselines, for comparison
        if f"g1_flux_{name}" in catalog.columns:
            label = METHOD_LABELS.get(name, name)
            rows[label] = {"column": name, "architecture": label, "params": {}, "parameters": 0}
    if "g1_flux_oracle" in catalog.columns:  # the physical floor, for comparison
        rows["oracle (floor)"] = {
            "column": "oracle",
            "architecture": "oracle",
            "params": {},
            "parameters": 0,
        }
    write_table_files(
        make_table2(catalog, rows),
        Path(outputs["csv"]),
        Path(outputs["md"]),
        "Table 2. Network performance on the whole test set (MAPE on fluxes, per cent).",
    )
