"""How far a network trained on one sky source can be trusted on another.

Each run of the workflow is a dataset (``results/<dataset>/``) made from one sky source
(synthetic, cosmos, candels_blender, fits). With ``evaluate.cross_domain`` naming datasets made
before by runs of their own, the ``cross_domain`` rule predicts the test set of every dataset
(this one and the named ones) with every flux network trained on every dataset, and tabulates
the flux MAPE (per cent, the whole test set, centrals and companions apart): the diagonal is
each network on its own sky, the rest on skies it never saw.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set, slot_count
from blendphot.errors import ConfigError, InputError

COLUMNS = ("trained_on", "tested_on", "model", "n", "mape_central", "mape_companion")


def dataset_files(dataset: str, models: list[str]) -> dict:
    """The files of a dataset the table reads: its test set and each model's trained file."""
    root = Path("results") / dataset
    return {
        "test": root / "blends" / "test.h5",
        "models": {m: root / "models" / m / "model.keras" for m in models},
    }


def other_slots(test_path: Path) -> int:
    """The slots of another run's test set; 2 where it cannot be read here (the rule that
    reads it reports that, by name)."""
    try:
        with open_blend_set(test_path) as h5:
            return slot_count(h5)
    except InputError:
        return 2


def check_other_datasets(
    names: list[str], current: str, models: list[str], max_galaxies: int = 2
) -> None:
    """Fail (ConfigError, at config time) unless every named dataset's test set and trained
    flux models exist: they come from runs with their own configs, never from this one; and
    unless this run (``max_galaxies``) and every named dataset hold pairs only."""
    if names and max_galaxies > 2:
        raise ConfigError(
            None,
            "evaluate.cross_domain compares networks of pairs only: this run makes blends of "
            f"up to {max_galaxies} galaxies (blends.n_galaxies)",
        )
    missing = []
    for name in names:
        if name == current:
            raise ConfigError(None, f"evaluate.cross_domain names this run's dataset '{name}'")
        files = dataset_files(name, models)
        missing += [str(p) for p in [files["test"], *files["models"].values()] if not p.exists()]
        if files["test"].exists() and other_slots(files["test"]) > 2:
            raise ConfigError(
                files["test"],
                f"evaluate.cross_domain: dataset '{name}' holds blends of more than two "
                "galaxies; the cross-domain table compares networks of pairs only",
            )
    if missing:
        raise ConfigError(
            None,
            "evaluate.cross_domain: missing " + ", ".join(missing) + " (run the workflow for "
            "each of those datasets first, with its own config: the test set and the trained "
            "models of the same flux networks)",
        )


def keras_fluxes(model_path: Path, test_path: Path) -> np.ndarray:
    """(N, 2) fluxes a trained network predicts on a blend set."""
    from blendphot.models.predict import read_predictions, write_predictions

    with tempfile.TemporaryDirectory(prefix="blendphot-cross-") as tmp:
        out = Path(tmp) / "predictions.h5"
        write_predictions(model_path, test_path, out, model_path.parent.name)
        return read_predictions(out)[1]


def cross_domain_table(
    datasets: dict[str, dict],
    models: list[str],
    predict: Callable[[Path, Path], np.ndarray] = keras_fluxes,
) -> pd.DataFrame:
    """One row per (trained_on, tested_on, model): the flux MAPE of centrals and companions.

    ``datasets`` maps each dataset to its files (:func:`dataset_files`); ``predict`` gives the
    (N, 2) fluxes of a trained model on a test set.
    """
    from blendphot.blends import open_blend_set
    from blendphot.evaluate.tables import flux_mape

    truth = {}
    for name, files in datasets.items():
        with open_blend_set(files["test"]) as h5:
            truth[name] = h5["flux"][()]
    rows = []
    for trained_on, files in datasets.items():
        for model in models:
            for tested_on, target in datasets.items():
                fluxes = np.asarray(predict(files["models"][model], target["test"]), float)
                true = truth[tested_on]
                rows.append(
                    {
                        "trained_on": trained_on,
                        "tested_on": tested_on,
                        "model": model,
                        "n": len(true),
                        "mape_central": round(flux_mape(fluxes[:, 0], true[:, 0]), 2),
                        "mape_companion": round(flux_mape(fluxes[:, 1], true[:, 1]), 2),
                    }
                )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def table_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, with a title line."""
    lines = [
        "Cross-domain flux MAPE (per cent, whole test set): networks trained on one sky "
        "source, tested on each.",
        "",
        "| " + " | ".join(table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines) + "\n"
