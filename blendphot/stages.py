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
    optional_inputs: tuple[str, ...] = field(default=())  # inputs that may be absent


def sky_zeropoint(config: dict) -> float:
    """Zero point of the sky source's fluxes."""
    return float(config["sky"]["zeropoint"])


def run_sky(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Draw the synthetic CANDELS-like sky: FITS mosaic and catalogue."""
    from blendphot.errors import ConfigError
    from blendphot.sky import make_synthetic_sky

    if config["sky"]["source"] != "synthetic":
        raise ConfigError(None, f"sky.source is '{config['sky']['source']}': no sky to draw")
    make_synthetic_sky(
        config["sky"], config["seed"], Path(outputs["mosaic"]), Path(outputs["catalog"])
    )


def run_sky_calibration(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Figure: selected galaxies against the paper's published ones (KS tests, type mix)."""
    from blendphot.figures.calibration import calibration_figure

    reference = inputs.get("reference")
    calibration_figure(
        Path(inputs["stamps"]),
        Path(reference) if reference else None,
        [Path(outputs["figure"])],
    )


def run_download_candels(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Download the candels-blender data set (Zenodo 2604740; needs internet)."""
    from blendphot.sky.download import download_candels_blender

    download_candels_blender({k: Path(outputs[k]) for k in ("images", "segmaps", "catalog")})


def run_stamps(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Select galaxies from a mosaic + catalogue, cut and clean their stamps; Table 1."""
    from blendphot.stamps import build_stamps

    cleaning = outputs.get("cleaning")
    build_stamps(
        Path(inputs["mosaic"]),
        Path(inputs["catalog"]),
        config["stamps"],
        config["seed"],
        Path(outputs["stamps"]),
        Path(outputs["table1"]),
        sky=config["sky"],
        cleaning_path=Path(cleaning) if cleaning else None,
    )


def run_stamps_candels(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Select, segment and clean the published candels-blender stamps; Table 1."""
    from blendphot.stamps import build_stamps_candels

    cleaning = outputs.get("cleaning")
    build_stamps_candels(
        Path(inputs["images"]),
        Path(inputs["segmaps"]),
        Path(inputs["catalog"]),
        config["stamps"],
        config["sky"],
        config["seed"],
        Path(outputs["stamps"]),
        Path(outputs["table1"]),
        cleaning_path=Path(cleaning) if cleaning else None,
    )


def run_figure1(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Figure 1: original, cleaned and segmentation of one galaxy of each type."""
    from blendphot.figures.stamps import figure1

    figure1(Path(inputs["stamps"]), [Path(outputs["figure1_png"]), Path(outputs["figure1_pdf"])])


def run_blends(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Pair galaxies into galaxy-disjoint train/val/test blend sets."""
    from blendphot.blends import build_blend_sets

    paths = {split: Path(outputs[split]) for split in ("train", "val", "test")}
    build_blend_sets(Path(inputs["stamps"]), config["blends"], config["seed"], paths)


def run_blend_figures(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Figure 2 (blends by distance and magnitude difference) and split histograms."""
    from blendphot.figures.blends import blend_histograms, figure2

    figure2(Path(inputs["test"]), [Path(outputs["figure2_png"]), Path(outputs["figure2_pdf"])])
    splits = {split: Path(inputs[split]) for split in ("train", "val", "test")}
    blend_histograms(splits, [Path(outputs["histograms"])])


def run_train(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Train one configured model (params: model_name, resume_dir; input init if init_from)."""
    from blendphot.figures.training import training_curve
    from blendphot.models.train import train_model, training_settings

    name = params["model_name"]
    history = train_model(
        config["models"][name],
        training_settings(config, name),
        Path(inputs["train"]),
        Path(inputs["val"]),
        Path(outputs["model"]),
        Path(outputs["history"]),
        Path(params["resume_dir"]),
        config["seed"],
        threads,
        init_path=Path(inputs["init"]) if inputs.get("init") else None,
        tensorboard_dir=Path(outputs["tensorboard"]),
        summary_path=Path(outputs["summary"]),
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
    """sep cold/hot photometry (+ Kron, isolated reference) of the whole test set; Table 3."""
    from blendphot.baseline import run_baseline as measure
    from blendphot.baseline import table3
    from blendphot.io import write_csv

    measure(Path(inputs["test"]), config["baseline"], Path(outputs["baseline"]))
    write_csv(table3(config["baseline"]), Path(outputs["table3"]))


def run_baseline_shard(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """sep baseline of one shard of the test set (params: shard, 0-based, and n_shards)."""
    from blendphot.baseline import run_baseline as measure

    measure(
        Path(inputs["test"]),
        config["baseline"],
        Path(outputs["shard"]),
        shard=int(params["shard"]),
        n_shards=int(params["n_shards"]),
    )


def run_baseline_gather(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Join the baseline shards, in order, into one CSV checked against the test set; Table 3."""
    from blendphot.baseline import gather_shards, table3
    from blendphot.io import write_csv

    shards = [Path(p) for p in inputs["shards"]]
    gather_shards(shards, Path(inputs["test"]), Path(outputs["baseline"]))
    write_csv(table3(config["baseline"]), Path(outputs["table3"]))


def flux_columns(config: dict) -> dict[str, str]:
    """Catalogue column suffix of each configured model that predicts fluxes."""
    from blendphot.models.registry import check_models, flux_models

    check_models(config["models"])
    return {name: model_column(config, name) for name in flux_models(config["models"])}


METHOD_LABELS = {
    "sex": "sep isophotal",
    "kron": "sep Kron",
    "iso_sex": "isolated isophotal",
    "iso_kron": "isolated Kron",
    "oracle": "oracle (floor)",
}
"""Labels of the baseline and oracle columns in metrics and figures."""
REFERENCE_ONLY = ("iso_sex", "iso_kron")
"""Columns measured on the isolated stamps: in the metrics, not in the blend figures."""


def _sep_zeropoint(config: dict) -> float:
    value = config["evaluate"]["sep_zeropoint"]
    return sky_zeropoint(config) if value is None else float(value)


def evaluation_methods(config: dict, dataset: str, catalog: pd.DataFrame) -> list:
    """The methods found in a catalogue, labelled and with their zero points.

    The paper-reference dataset uses the paper's conventions (networks 25.96, sep 25.67).
    """
    from blendphot.evaluate import PAPER_LABELS, methods_in

    reference = config["evaluate"]["paper_reference"]
    if dataset == reference["name"]:
        return methods_in(catalog, PAPER_LABELS, reference["zeropoint"], reference["sep_zeropoint"])
    labels = {col: name for name, col in flux_columns(config).items()} | METHOD_LABELS
    return methods_in(catalog, labels, sky_zeropoint(config), _sep_zeropoint(config))


def run_output_catalog(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """Join truth, predictions, the sep baseline and the oracle into output_catalog.csv."""
    from blendphot.evaluate import build_output_catalog

    names = list(config["models"])
    predictions = inputs["predictions"]
    if len(predictions) != len(names):
        raise ValueError(f"{len(predictions)} prediction files for {len(names)} models")
    columns = flux_columns(config)
    files = dict(zip(names, map(Path, predictions), strict=True))
    build_output_catalog(
        Path(inputs["test"]),
        {name: files[name] for name in columns},
        columns,
        Path(inputs["baseline"]),
        _sep_zeropoint(config),
        Path(outputs["catalog"]),
        oracle_path=Path(inputs["oracle"]) if inputs.get("oracle") else None,
    )


def run_oracle(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """The physical floor: least-squares amplitudes of the known noiseless profiles."""
    from blendphot.evaluate.oracle import oracle_photometry

    oracle_photometry(Path(inputs["test"]), Path(outputs["oracle"]))


def run_paper_reference(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """The paper's published per-blend table, checked, as a dataset's output catalogue."""
    from blendphot.evaluate.reference import write_reference_catalog

    n = write_reference_catalog(Path(inputs["table"]), Path(outputs["catalog"]))
    log.info("paper reference: %d blends", n)


def run_metrics(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Metrics per selection, method and role; binned statistics for Figures 7-9."""
    from blendphot.evaluate import binned_table, metrics_table
    from blendphot.io import write_csv

    catalog = pd.read_csv(inputs["catalog"])
    methods = evaluation_methods(config, params["dataset"], catalog)
    table = metrics_table(catalog, methods, config["evaluate"]["outlier_threshold"])
    write_csv(table, Path(outputs["metrics"]), float_format="%.6g")
    write_csv(binned_table(catalog, methods), Path(outputs["binned"]), float_format="%.6g")
    log.info(
        "metrics (figure-5 selection):\n%s",
        table[table.selection == "figure5"].to_string(index=False),
    )


def run_figures(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Figures 5-9 (PNG and PDF) from the output catalogue and the binned statistics."""
    from blendphot.figures.photometry import binned_figure, figure5, figure6, figure9

    catalog = pd.read_csv(inputs["catalog"])
    binned = pd.read_csv(inputs["binned"])
    methods = [
        m
        for m in evaluation_methods(config, params["dataset"], catalog)
        if m.column not in REFERENCE_ONLY
    ]
    shown = {m.label for m in methods}
    binned = binned[binned["method"].isin(shown)]
    threshold = config["evaluate"]["outlier_threshold"]

    def both(name: str) -> list[Path]:
        return [Path(outputs[f"{name}_png"]), Path(outputs[f"{name}_pdf"])]

    figure5(catalog, methods, threshold, both("figure5"))
    figure6(catalog, methods, threshold, both("figure6"))
    binned_figure(binned, "mag_difference", "own magnitude - the other's", both("figure7"))
    binned_figure(
        binned, "distance_over_radius", "distance / own effective radius", both("figure8")
    )
    figure9(binned, both("figure9"))


def run_segmentation(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """IoU and overlap area of the mask models' segmentation; Figures 10 and 11."""
    from blendphot.evaluate.segmentation import segmentation_summary, segmentation_table
    from blendphot.evaluate.tables import write_table_files
    from blendphot.figures.segmentation import figure10, figure11
    from blendphot.io import write_csv
    from blendphot.models.registry import mask_models

    names = mask_models(config["models"])
    files = dict(zip(names, map(Path, inputs["predictions"]), strict=True))
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


def run_summary(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """The paper's numbers (from its table) beside this project's, figure-5 selection."""
    from blendphot.evaluate.reference import summary_table
    from blendphot.evaluate.tables import write_table_files

    table = summary_table(
        {
            "paper (published table)": pd.read_csv(inputs["reference"]),
            f"blendphot ({params['dataset']})": pd.read_csv(inputs["ours"]),
        }
    )
    write_table_files(
        table,
        Path(outputs["csv"]),
        Path(outputs["md"]),
        "Summary: the paper's results (its published table) and this project's, "
        "centrals and companions where sep found them (Figure 5 selection).",
    )


def run_table_markdown(
    config: dict, inputs: dict, outputs: dict, params: dict, threads: int
) -> None:
    """A CSV table as Markdown (Tables 1 and 3)."""
    from blendphot.evaluate.tables import markdown_table
    from blendphot.io import atomic_path

    with atomic_path(Path(outputs["md"])) as tmp:
        tmp.write_text(f"{params['title']}\n\n{markdown_table(pd.read_csv(inputs['csv']))}")


def run_table2(config: dict, inputs: dict, outputs: dict, params: dict, threads: int) -> None:
    """Table 2: parameters and flux errors on the test set of every flux model."""
    import json

    from blendphot.evaluate.tables import table2, write_table_files

    catalog = pd.read_csv(inputs["catalog"])
    columns = flux_columns(config)
    summaries = dict(zip(columns, inputs["summaries"], strict=True))
    models = {
        name: {
            "column": col,
            "architecture": config["models"][name]["architecture"],
            "params": config["models"][name].get("params", {}),
            "parameters": json.loads(Path(summaries[name]).read_text())["parameters"],
        }
        for name, col in columns.items()
    }
    if "g1_flux_oracle" in catalog.columns:  # the physical floor, for comparison
        models["oracle (floor)"] = {
            "column": "oracle",
            "architecture": "oracle",
            "params": {},
            "parameters": 0,
        }
    write_table_files(
        table2(catalog, models),
        Path(outputs["csv"]),
        Path(outputs["md"]),
        "Table 2. Network performance on the whole test set (MAPE on fluxes, per cent).",
    )


STAGES: dict[str, Stage] = {
    "sky": Stage(run_sky, run_sky.__doc__, (), ("mosaic", "catalog")),
    "download_candels": Stage(
        run_download_candels, run_download_candels.__doc__, (), ("images", "segmaps", "catalog")
    ),
    "stamps": Stage(
        run_stamps,
        run_stamps.__doc__,
        ("mosaic", "catalog"),
        ("stamps", "table1", "cleaning"),
    ),
    "stamps_candels": Stage(
        run_stamps_candels,
        run_stamps_candels.__doc__,
        ("images", "segmaps", "catalog"),
        ("stamps", "table1", "cleaning"),
    ),
    "sky_calibration": Stage(
        run_sky_calibration,
        run_sky_calibration.__doc__,
        ("stamps", "reference"),
        ("figure",),
        optional_inputs=("reference",),
    ),
    "figure1": Stage(run_figure1, run_figure1.__doc__, ("stamps",), ("figure1_png", "figure1_pdf")),
    "blends": Stage(run_blends, run_blends.__doc__, ("stamps",), ("train", "val", "test")),
    "blend_figures": Stage(
        run_blend_figures,
        run_blend_figures.__doc__,
        ("train", "val", "test"),
        ("figure2_png", "figure2_pdf", "histograms"),
    ),
    "train": Stage(
        run_train,
        run_train.__doc__,
        ("train", "val", "init"),
        ("model", "history", "curve", "summary", "tensorboard"),
        ("model_name", "resume_dir"),
        optional_inputs=("init",),
    ),
    "predict": Stage(
        run_predict, run_predict.__doc__, ("model", "test"), ("predictions",), ("model_name",)
    ),
    "baseline": Stage(run_baseline, run_baseline.__doc__, ("test",), ("baseline", "table3")),
    "baseline_shard": Stage(
        run_baseline_shard,
        run_baseline_shard.__doc__,
        ("test",),
        ("shard",),
        ("shard", "n_shards"),
    ),
    "baseline_gather": Stage(
        run_baseline_gather,
        run_baseline_gather.__doc__,
        ("test", "shards"),
        ("baseline", "table3"),
        list_inputs=("shards",),
    ),
    "oracle": Stage(run_oracle, run_oracle.__doc__, ("test",), ("oracle",)),
    "output_catalog": Stage(
        run_output_catalog,
        run_output_catalog.__doc__,
        ("test", "predictions", "baseline", "oracle"),
        ("catalog",),
        list_inputs=("predictions",),
        optional_inputs=("oracle",),
    ),
    "paper_reference": Stage(
        run_paper_reference, run_paper_reference.__doc__, ("table",), ("catalog",)
    ),
    "metrics": Stage(
        run_metrics, run_metrics.__doc__, ("catalog",), ("metrics", "binned"), ("dataset",)
    ),
    "segmentation": Stage(
        run_segmentation,
        run_segmentation.__doc__,
        ("test", "predictions"),
        (
            "table",
            "summary_csv",
            "summary_md",
            "figure10_png",
            "figure10_pdf",
            "figure11_png",
            "figure11_pdf",
        ),
        list_inputs=("predictions",),
    ),
    "summary": Stage(
        run_summary, run_summary.__doc__, ("reference", "ours"), ("csv", "md"), ("dataset",)
    ),
    "table_markdown": Stage(
        run_table_markdown, run_table_markdown.__doc__, ("csv",), ("md",), ("title",)
    ),
    "table2": Stage(
        run_table2,
        run_table2.__doc__,
        ("catalog", "summaries"),
        ("csv", "md"),
        list_inputs=("summaries",),
    ),
    "figures": Stage(
        run_figures,
        run_figures.__doc__,
        ("catalog", "binned"),
        tuple(f"figure{n}_{ext}" for n in (5, 6, 7, 8, 9) for ext in ("png", "pdf")),
        ("dataset",),
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
        if k not in stage.optional_inputs or k in snakemake.input.keys()
    }
    outputs = {k: str(snakemake.output[k]) for k in stage.outputs}
    params = {k: snakemake.params[k] for k in stage.params}
    with redirect_to_log(snakemake.log[0] if snakemake.log else None):
        run_stage(name, snakemake.config, inputs, outputs, params, snakemake.threads)


def run_data_chain(config: dict, directory: Path) -> dict[str, Path]:
    """Sky, stamps and blend sets of a synthetic config in one folder, outside Snakemake
    (tests, benchmarks, notebooks); returns the paths by name."""
    directory = Path(directory)
    p = {k: directory / f"{k}.fits" for k in ("mosaic", "catalog")}
    p.update({k: directory / f"{k}.h5" for k in ("stamps", "train", "val", "test")})
    p["table1"] = directory / "table1.csv"
    sky = ("mosaic", "catalog")
    run_stage("sky", config, {}, {k: p[k] for k in sky}, {})
    run_stage("stamps", config, {k: p[k] for k in sky}, {k: p[k] for k in ("stamps", "table1")}, {})
    splits = ("train", "val", "test")
    run_stage("blends", config, {"stamps": p["stamps"]}, {k: p[k] for k in splits}, {})
    return p
