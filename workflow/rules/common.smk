import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from blendphot.config import model_column, validate_config
from blendphot.models.registry import get_architecture, load_model_modules

# Fill the schema's defaults (nested ones included) and fail early on a bad config.
validate_config(config, "the workflow config")

DATASET = config["dataset"]
MODELS = list(config["models"])
SPLITS = ["train", "val", "test"]

# Unknown architectures fail here, before any job runs.
load_model_modules([m["module"] for m in config["models"].values() if "module" in m])
for _model in config["models"].values():
    get_architecture(_model["architecture"])


wildcard_constraints:
    dataset=r"[A-Za-z0-9_.-]+",
    model="|".join(MODELS),
    split="|".join(SPLITS),


def final_outputs():
    """Everything `snakemake` builds by default: catalogue, metrics, tables and figures."""
    return expand(
        [
            "results/{dataset}/output_catalog.csv",
            "results/{dataset}/metrics.csv",
            "results/{dataset}/tables/table1.csv",
            "results/{dataset}/tables/table3.csv",
            "results/{dataset}/figures/figure5.png",
            "results/{dataset}/figures/figure5.pdf",
        ],
        dataset=DATASET,
    ) + expand(
        "results/{dataset}/models/{model}/training_curve.png",
        dataset=DATASET,
        model=MODELS,
    )


def model_predictions(wildcards):
    """One predictions file per configured model, in config order."""
    return expand(
        "results/{dataset}/predictions/{model}.h5",
        dataset=wildcards.dataset,
        model=MODELS,
    )
