import sys

from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from blendphot.config import model_column, validate_config
from blendphot.models.registry import check_models

# A bad key or type fails here, before any job runs, with one line naming the key; the
# library also fills the schema's defaults (nested ones included).
validate_config(config, ", ".join(map(str, workflow.configfiles)) or "config")
validate(config, schema="../schemas/config.schema.yaml")

DATASET = config["dataset"]
MODELS = list(config["models"])
SPLITS = ["train", "val", "test"]

# Unknown architectures fail here, before any job runs.
check_models(config["models"])


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
