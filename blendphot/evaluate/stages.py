"""Section 4's stages: the output catalogue, the oracle floor, metrics and tables."""

from __future__ import annotations

import logging
from pathlib import Path

from blendphot.stages import stage

log = logging.getLogger("blendphot")

EVALUATION_SETTINGS = ("models", "sky.zeropoint", "evaluate")
"""What labelling and scoring the methods of a catalogue reads."""


@stage(inputs=("test",), outputs=("oracle",))
def oracle(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The physical floor: least-squares amplitudes of the known noiseless profiles."""
    from blendphot.evaluate.oracle import oracle_photometry

    oracle_photometry(Path(inputs["test"]), Path(outputs["oracle"]))


@stage(
    inputs=("test", "predictions", "baseline", "oracle", "scarlet"),
    outputs=("catalog",),
    settings=EVALUATION_SETTINGS,
    list_inputs=("predictions",),
    # no predictions: evaluate.networks false; scarlet only when scarlet.enabled
    optional_inputs=("predictions", "oracle", "scarlet"),
)
def output_catalog(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Join truth, predictions, the sep baseline, scarlet (if on) and the oracle into
    output_catalog.csv."""
    from blendphot.evaluate.catalog import FITTED_BASELINES, build_output_catalog
    from blendphot.evaluate.methods import flux_columns, sep_zeropoint

    networks = settings["evaluate"]["networks"]
    names = list(settings["models"]) if networks else []
    predictions = inputs.get("predictions", [])
    if len(predictions) != len(names):
        raise ValueError(f"{len(predictions)} prediction files for {len(names)} models")
    columns = flux_columns(settings["models"]) if networks else {}
    files = dict(zip(names, map(Path, predictions), strict=True))
    build_output_catalog(
        Path(inputs["test"]),
        {name: files[name] for name in columns},
        columns,
        Path(inputs["baseline"]),
        sep_zeropoint(settings),
        Path(outputs["catalog"]),
        oracle_path=Path(inputs["oracle"]) if inputs.get("oracle") else None,
        fitted={k: Path(inputs[k]) for k in FITTED_BASELINES if inputs.get(k)},
    )


@stage(inputs=("table",), outputs=("catalog",))
def paper_reference_catalog(
    settings: dict, inputs: dict, outputs: dict, params: dict, threads: int
):
    """The paper's published per-blend table, checked, as a dataset's output catalogue."""
    from blendphot.evaluate.reference import write_reference_catalog

    n = write_reference_catalog(Path(inputs["table"]), Path(outputs["catalog"]))
    log.info("paper reference: %d blends", n)


@stage(
    inputs=("catalog",),
    outputs=("metrics", "binned"),
    params=("dataset",),
    settings=EVALUATION_SETTINGS,
)
def metrics(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Metrics per selection, method and role; binned statistics for Figures 7-9."""
    import pandas as pd

    from blendphot.evaluate.methods import evaluation_methods
    from blendphot.evaluate.metrics import binned_table, metrics_table
    from blendphot.io import write_csv

    catalog = pd.read_csv(inputs["catalog"])
    methods = evaluation_methods(settings, params["dataset"], catalog)
    table = metrics_table(catalog, methods, settings["evaluate"]["outlier_threshold"])
    write_csv(table, Path(outputs["metrics"]), float_format="%.6g")
    write_csv(binned_table(catalog, methods), Path(outputs["binned"]), float_format="%.6g")
    log.info(
        "metrics (figure-5 selection):\n%s",
        table[table.selection == "figure5"].to_string(index=False),
    )


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
    from blendphot.evaluate.segmentation import segmentation_summary, segmentation_table
    from blendphot.evaluate.tables import write_table_files
    from blendphot.figures.segmentation import figure10, figure11
    from blendphot.io import write_csv
    from blendphot.models.registry import mask_models

    names = mask_models(settings["models"])
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


@stage(inputs=("reference", "ours"), outputs=("csv", "md"), params=("dataset",))
def summary(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The paper's numbers (from its table) beside this project's, figure-5 selection."""
    import pandas as pd

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
    settings=("models",),
    list_inputs=("summaries",),
)
def table2(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Table 2: parameters and flux errors on the test set of every flux model."""
    import json

    import pandas as pd

    from blendphot.evaluate.catalog import FITTED_BASELINES
    from blendphot.evaluate.methods import METHOD_LABELS, flux_columns
    from blendphot.evaluate.tables import table2 as make_table2
    from blendphot.evaluate.tables import write_table_files

    catalog = pd.read_csv(inputs["catalog"])
    models = settings["models"]
    columns = flux_columns(models)
    summaries = dict(zip(columns, inputs["summaries"], strict=True))
    rows = {
        name: {
            "column": col,
            "architecture": models[name]["architecture"],
            "params": models[name].get("params", {}),
            "parameters": json.loads(Path(summaries[name]).read_text())["parameters"],
        }
        for name, col in columns.items()
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
