"""The cross-domain stage (issue 18): networks trained on one sky source, tested on another."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(
    inputs=("test", "models"),
    outputs=("table", "markdown"),
    params=("dataset", "others"),
    settings=("models", "training.deterministic", "seed"),
    list_inputs=("models",),
)
def cross_domain(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Flux MAPE of every flux network of every dataset (this one, params others) on every
    dataset's test set (inputs: this run's test set and trained flux models)."""
    from blendphot.crossdomain.table import cross_domain_table, dataset_files, table_markdown
    from blendphot.io import atomic_path, write_csv
    from blendphot.models.registry import flux_models
    from blendphot.models.train import configure_tensorflow

    configure_tensorflow(threads, settings["seed"], settings["training"]["deterministic"])
    models = flux_models(settings["models"])
    ours = {
        "test": Path(inputs["test"]),
        "models": dict(zip(models, map(Path, inputs["models"]), strict=True)),
    }
    datasets = {params["dataset"]: ours}
    datasets |= {name: dataset_files(name, models) for name in params["others"]}
    table = cross_domain_table(datasets, models)
    write_csv(table, Path(outputs["table"]))
    with atomic_path(Path(outputs["markdown"])) as tmp:
        Path(tmp).write_text(table_markdown(table))
