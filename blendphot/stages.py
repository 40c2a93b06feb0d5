"""Each workflow stage as one call: config + named inputs/outputs -> files on disk.

The Snakemake rules and the command line (``blendphot <stage> --help``) both go through
:data:`STAGES`, so a stage behaves the same inside and outside the workflow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from blendphot.config import model_column

log = logging.getLogger("blendphot")


@dataclass(frozen=True)
class Stage:
    """A stage: its function, the names of its inputs, outputs and parameters."""

    run: Callable
    help: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[str, ...] = ()
    list_inputs: tuple[str, ...] = field(default=())  # inputs that take several files


def sky_zeropoint(config: dict) -> float:
    """Zero point of the sky source's fluxes."""
    return float(config["sky"]["zeropoint"])


def run_sky(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Draw the synthetic CANDELS-like sky: FITS mosaic and catalogue."""
    from blendphot.sky import make_synthetic_sky

    make_synthetic_sky(
        config["sky"], config["seed"], Path(outputs["mosaic"]), Path(outputs["catalog"])
    )


def run_stamps(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Select galaxies, cut and clean their stamps; write the stamps HDF5 and Table 1."""
    from blendphot.stamps import build_stamps

    build_stamps(
        Path(inputs["mosaic"]),
        Path(inputs["catalog"]),
        config["stamps"],
        config["seed"],
        Path(outputs["stamps"]),
        Path(outputs["table1"]),
    )


def run_blends(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Pair galaxies into galaxy-disjoint train/val/test blend sets."""
    from blendphot.blends import build_blend_sets

    paths = {split: Path(outputs[split]) for split in ("train", "val", "test")}
    build_blend_sets(Path(inputs["stamps"]), config["blends"], config["seed"], paths)


def run_train(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Train one configured model (params: model_name, resume_dir)."""
    from blendphot.figures.training import training_curve
    from blendphot.models.train import train_model

    name = params["model_name"]
    history = train_model(
        config["models"][name],
        config["training"],
        Path(inputs["train"]),
        Path(inputs["val"]),
        Path(outputs["model"]),
        Path(outputs["history"]),
        Path(params["resume_dir"]),
        config["seed"],
        threads,
    )
    training_curve(history, name, [Path(outputs["curve"])])


def run_predict(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Predict the test set's fluxes with one trained model (params: model_name)."""
    from blendphot.models.predict import write_predictions
    from blendphot.models.train import configure_tensorflow

    configure_tensorflow(threads, config["seed"], config["training"]["deterministic"])
    write_predictions(
        Path(inputs["model"]),
        Path(inputs["test"]),
        Path(outputs["predictions"]),
        params["model_name"],
    )


def run_baseline(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """sep cold/hot photometry of the test set; Table 3 from the settings used."""
    from blendphot.baseline import run_baseline as measure
    from blendphot.baseline import table3
    from blendphot.io import write_csv

    measure(Path(inputs["test"]), config["baseline"], Path(outputs["baseline"]))
    write_csv(table3(config["baseline"]), Path(outputs["table3"]))


def _sep_zeropoint(config: dict) -> float:
    value = config["evaluate"]["sep_zeropoint"]
    return sky_zeropoint(config) if value is None else float(value)


def run_evaluate(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Join truth, predictions and baseline into output_catalog.csv; compute the metrics."""
    from blendphot.evaluate import build_output_catalog, methods_for, metrics_table
    from blendphot.io import write_csv

    names = list(config["models"])
    predictions = inputs["predictions"]
    if len(predictions) != len(names):
        raise ValueError(f"{len(predictions)} prediction files for {len(names)} models")
    columns = {name: model_column(config, name) for name in names}
    catalog = build_output_catalog(
        Path(inputs["test"]),
        dict(zip(names, map(Path, predictions), strict=True)),
        columns,
        Path(inputs["baseline"]),
        _sep_zeropoint(config),
        Path(outputs["catalog"]),
    )
    methods = methods_for(catalog, columns, sky_zeropoint(config), _sep_zeropoint(config))
    table = metrics_table(catalog, methods, config["evaluate"]["outlier_threshold"])
    write_csv(table, Path(outputs["metrics"]), float_format="%.6g")
    log.info(
        "metrics (figure-5 selection):\n%s",
        table[table.selection == "figure5"].to_string(index=False),
    )


def run_figures(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Figure 5 (PNG and PDF) from the output catalogue."""
    from blendphot.evaluate import methods_for
    from blendphot.figures.photometry import figure5

    catalog = pd.read_csv(inputs["catalog"])
    columns = {name: model_column(config, name) for name in config["models"]}
    methods = methods_for(catalog, columns, sky_zeropoint(config), _sep_zeropoint(config))
    figure5(
        catalog,
        methods,
        config["evaluate"]["outlier_threshold"],
        [Path(outputs["figure5_png"]), Path(outputs["figure5_pdf"])],
    )


STAGES: dict[str, Stage] = {
    "sky": Stage(run_sky, run_sky.__doc__, (), ("mosaic", "catalog")),
    "stamps": Stage(run_stamps, run_stamps.__doc__, ("mosaic", "catalog"), ("stamps", "table1")),
    "blends": Stage(run_blends, run_blends.__doc__, ("stamps",), ("train", "val", "test")),
    "train": Stage(
        run_train,
        run_train.__doc__,
        ("train", "val"),
        ("model", "history", "curve"),
        ("model_name", "resume_dir"),
    ),
    "predict": Stage(
        run_predict, run_predict.__doc__, ("model", "test"), ("predictions",), ("model_name",)
    ),
    "baseline": Stage(run_baseline, run_baseline.__doc__, ("test",), ("baseline", "table3")),
    "evaluate": Stage(
        run_evaluate,
        run_evaluate.__doc__,
        ("test", "predictions", "baseline"),
        ("catalog", "metrics"),
        list_inputs=("predictions",),
    ),
    "figures": Stage(
        run_figures, run_figures.__doc__, ("catalog",), ("figure5_png", "figure5_pdf")
    ),
}


def run_stage(
    name: str, config: dict, inputs: dict, outputs: dict, params: dict, threads: int = 1
) -> None:
    """Run one stage by name (config already validated)."""
    stage = STAGES[name]
    log.info("stage %s: inputs %s -> outputs %s", name, inputs, outputs)
    stage.run(config, inputs, outputs, params, threads)


def run_from_snakemake(snakemake, name: str) -> None:
    """Entry point of the rule scripts: the Snakemake object -> :func:`run_stage`, logged."""
    from blendphot.logs import redirect_to_log

    stage = STAGES[name]
    inputs = {
        k: (list(snakemake.input[k]) if k in stage.list_inputs else str(snakemake.input[k]))
        for k in stage.inputs
    }
    outputs = {k: str(snakemake.output[k]) for k in stage.outputs}
    params = {k: snakemake.params[k] for k in stage.params}
    with redirect_to_log(snakemake.log[0] if snakemake.log else None):
        run_stage(name, snakemake.config, inputs, outputs, params, snakemake.threads)
