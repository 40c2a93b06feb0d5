import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from blendphot.config import (
    apply_overlays,
    galaxy_count_shares,
    key_origin,
    read_yaml_file,
    validate_config,
)
from blendphot.crossdomain.table import check_other_datasets
from blendphot.deblend.plan import check_deblend_models, deblend_tile_count
from blendphot.methods import check_extra_methods, extra_methods
from blendphot.data import paper_table_path
from blendphot.sky.cosmos import check_cosmos_dir
from blendphot.models.registry import (
    check_models,
    check_slots,
    flux_models,
    init_sources,
    mask_models,
)
from blendphot.models.settings import training_settings
from blendphot.stages import check_rules, stage_settings

# Overlays mean what they say (config/README.md): a model entry of a --configfile replaces the
# default's entry of that name whole; other keys deep-merge, --config overrides last.
OVERLAYS = [str(f) for f in workflow.overwrite_configfiles]
CONFIG_SOURCES = [
    *(
        (str(f), read_yaml_file(f))
        for f in workflow.configfiles
        if str(f) not in OVERLAYS
    ),
    *((f, read_yaml_file(f)) for f in OVERLAYS),
    ("--config", workflow.config_settings.config or {}),
]
apply_overlays(
    config, [values for _, values in CONFIG_SOURCES[:-1]], CONFIG_SOURCES[-1][1]
)
# A bad key or type fails here, before any job runs, with one line naming the key and the
# file (or --config) that set it; the library also fills the schema's defaults.
validate_config(config, "config", key_origin(CONFIG_SOURCES))
validate(config, schema="../schemas/config.schema.yaml")

DATASET = config["dataset"]
MODELS = list(config["models"])
# evaluate.networks false: the baselines alone (no model is trained or evaluated).
EVALUATED = MODELS if config["evaluate"]["networks"] else []
SPLITS = ["train", "val", "test"]
# Numbers of galaxies per blend drawn (blends.n_galaxies with a share): [2] for the paper's pairs.
GALAXY_COUNTS = sorted(galaxy_count_shares(config["blends"].get("n_galaxies")))
TABLE_TITLES = {
    "table1": "Table 1. Morphological mix of the galaxies used to make the blends.",
    "table3": "Table 3. sep parameters of the hot and cold passes.",
}

# Unknown architectures fail here, before any job runs.
check_models(config["models"])
check_slots(
    config["models"], max(GALAXY_COUNTS)
)  # K fluxes: builders that take `slots`
MASK_MODELS = mask_models(config["models"])
# Methods of one's own (config `methods`), each run by the rules of its own file, included by
# rules/methods.smk; evaluated beside the networks and the baselines, with or without
# evaluate.networks.
EXTRA_METHODS = extra_methods(config)
# Where each one's rules are: relative to the working directory, else to the workflow's own.
METHOD_RULE_FILES = check_extra_methods(
    EXTRA_METHODS,
    {name: entry.get("column", name) for name, entry in config["models"].items()},
    [Path.cwd(), Path(workflow.basedir)],
)
# Where the library lives: a method's shell command puts it on PYTHONPATH.
PACKAGE_ROOT = workflow.basedir
# Noiseless truth (for the oracle) exists only for the skies drawn here (synthetic, COSMOS).
HAS_TRUTH = config["sky"]["source"] in ("synthetic", "cosmos")
# A missing or incomplete COSMOS sample fails here, before any job, saying how to get it.
if config["sky"]["source"] == "cosmos":
    check_cosmos_dir(config["sky"]["cosmos"])
# The cross-domain table reads other runs' datasets: they must exist (never made by this run).
FLUX_MODELS = flux_models(config["models"]) if EVALUATED else []
CROSS_DOMAIN = config["evaluate"]["cross_domain"] if FLUX_MODELS else []
check_other_datasets(CROSS_DOMAIN, DATASET, FLUX_MODELS, max(GALAXY_COUNTS))

# The paper's own per-blend table (shipped in blendphot/data) runs as a dataset of its own.
REFERENCE_TABLE = str(
    paper_table_path(config["evaluate"]["paper_reference"]["catalog"])
)
PAPER_REFERENCE = config["evaluate"]["paper_reference"]["name"]


def settings_for(name):
    """The config settings handed to the stage ``name`` (as ``settings`` in params), exactly
    those it declares, so that a changed setting reruns what it changes and nothing else.
    Only those that differ from the schema's defaults go (the rule script fills the defaults
    back in): a key a new version adds with a default reruns nothing; a new default reruns
    nothing either (use --forcerun). See blendphot/stages.py.
    """
    return stage_settings(config, name)


wildcard_constraints:
    dataset=r"[A-Za-z0-9_.-]+",
    model="|".join(MODELS),
    split="|".join(SPLITS),


def final_outputs():
    """Everything `snakemake` builds by default: catalogue, metrics, tables and figures,
    for the configured dataset and for the paper-reference one (its shipped table).
    """
    ours = [
        "results/{dataset}/config.yaml",
        "results/{dataset}/output_catalog.csv",
        "results/{dataset}/metrics.csv",
        "results/{dataset}/tables/table1.md",
        "results/{dataset}/tables/table3.md",
        "results/{dataset}/figures/figure2.png",
        "results/{dataset}/figures/blend_histograms.png",
        "results/{dataset}/figures/figure1.png",
        "results/{dataset}/figures/figure1.pdf",
        "results/{dataset}/figures/sky_calibration.png",
    ]
    ours += [f"results/{{dataset}}/figures/figure{n}.png" for n in (5, 6, 7, 8, 9)]
    if EVALUATED or EXTRA_METHODS:
        ours.append("results/{dataset}/tables/table2.md")
    if MASK_MODELS and EVALUATED:
        ours += [
            "results/{dataset}/tables/segmentation.md",
            "results/{dataset}/figures/figure10.png",
            "results/{dataset}/figures/figure11.png",
        ]
    ours.append("results/{dataset}/tables/summary.md")
    ours += [
        "results/{dataset}/tables/uncertainty.md",
        "results/{dataset}/figures/reliability.png",
    ]
    if CROSS_DOMAIN:
        ours.append("results/{dataset}/tables/cross_domain.md")
    if max(GALAXY_COUNTS) > 2:  # blends of more than two galaxies: figures per count
        ours.append("results/{dataset}/figures/flux_error_by_count.png")
        ours += [
            f"results/{{dataset}}/figures/n{n}/figure{k}.png"
            for n in GALAXY_COUNTS
            for k in (5, 6, 7, 8, 9)
        ]
    targets = expand(ours, dataset=DATASET)
    targets += expand(
        "results/{dataset}/models/{model}/training_curve.png",
        dataset=DATASET,
        model=EVALUATED,
    )
    targets += expand(
        "results/{dataset}/figures/figure{n}.png",
        dataset=PAPER_REFERENCE,
        n=[5, 6, 7, 8, 9],
    )
    return targets


def training_inputs(wildcards):
    """Blend sets, plus the trained models named by init_from (blend2mask2flux <- U-Net)."""
    inputs = {
        "train": f"results/{wildcards.dataset}/blends/train.h5",
        "val": f"results/{wildcards.dataset}/blends/val.h5",
    }
    parents = init_sources(config["models"][wildcards.model])
    if parents:
        inputs["init"] = expand(
            "results/{dataset}/models/{model}/model.keras",
            dataset=wildcards.dataset,
            model=parents,
        )
    return inputs


def training_gpus(wildcards):
    """GPUs one training job asks for: the model's training.gpus, or 1 where it is "all"
    (every GPU the job is given, one by default)."""
    gpus = training_settings(config, wildcards.model)["gpus"]
    return 1 if gpus == "all" else int(gpus)


def flux_model_summaries(wildcards):
    """Training summaries of the models that predict fluxes, in config order."""
    return expand(
        "results/{dataset}/models/{model}/summary.json",
        dataset=wildcards.dataset,
        model=[m for m in flux_models(config["models"]) if m in EVALUATED],
    )


def model_predictions(wildcards):
    """One predictions file per evaluated model, in config order, then one per method of
    one's own."""
    return expand(
        "results/{dataset}/predictions/{model}.h5",
        dataset=wildcards.dataset,
        model=EVALUATED,
    ) + [m.predictions(wildcards.dataset) for m in EXTRA_METHODS.values()]


def method_options(name):
    """The settings of method ``name`` of one's own, as command-line options."""
    return EXTRA_METHODS[name].command_options()


def mask_predictions(wildcards):
    """Predictions of the models that output masks, in config order."""
    return expand(
        "results/{dataset}/predictions/{model}.h5",
        dataset=wildcards.dataset,
        model=MASK_MODELS,
    )


def segmentation_summary(wildcards):
    """The mask models' segmentation table of a dataset (the U-Net's IoU for the summary's
    claims), where the workflow evaluates mask models; none otherwise."""
    if not (MASK_MODELS and EVALUATED):
        return []
    return f"results/{wildcards.dataset}/tables/segmentation.csv"


def catalog_inputs(wildcards):
    """Inputs of the output catalogue: test set, predictions, baseline (and oracle, and
    scarlet when scarlet.enabled), and the calibration of the uncertainties fitted on the
    validation blends."""
    inputs = {
        "test": f"results/{wildcards.dataset}/blends/test.h5",
        "predictions": model_predictions(wildcards),
        "baseline": f"results/{wildcards.dataset}/baseline/sep.csv",
        "calibration": f"results/{wildcards.dataset}/calibration/calibration.json",
    }
    if HAS_TRUTH:
        inputs["oracle"] = f"results/{wildcards.dataset}/baseline/oracle.csv"
    if config["scarlet"]["enabled"]:
        inputs["scarlet"] = f"results/{wildcards.dataset}/baseline/scarlet.csv"
    return inputs


def calibration_fit_inputs(wildcards):
    """The validation blends' predictions (flux models), sep baseline (and oracle, and
    scarlet when scarlet.enabled), for the calibration."""
    inputs = {
        "val": f"results/{wildcards.dataset}/blends/val.h5",
        "predictions": expand(
            "results/{dataset}/predictions/validation/{model}.h5",
            dataset=wildcards.dataset,
            model=[m for m in flux_models(config["models"]) if m in EVALUATED],
        )
        + [m.validation_predictions(wildcards.dataset) for m in EXTRA_METHODS.values()],
        "baseline": f"results/{wildcards.dataset}/baseline/validation/sep.csv",
    }
    if HAS_TRUTH:
        inputs["oracle"] = f"results/{wildcards.dataset}/baseline/validation/oracle.csv"
    if config["scarlet"]["enabled"]:
        inputs["scarlet"] = (
            f"results/{wildcards.dataset}/baseline/validation/scarlet.csv"
        )
    return inputs


def metrics_inputs(wildcards):
    """The catalogue, the blend set it must cover row for row, and the calibration of its
    uncertainties (neither for the paper's table)."""
    inputs = {"catalog": f"results/{wildcards.dataset}/output_catalog.csv"}
    if wildcards.dataset != PAPER_REFERENCE:
        inputs["test"] = f"results/{wildcards.dataset}/blends/test.h5"
        inputs["calibration"] = (
            f"results/{wildcards.dataset}/calibration/calibration.json"
        )
    return inputs


def stamps_inputs(wildcards):
    """The stamps rule's inputs, by sky source: the synthetic sky's mosaic and catalogue, a
    FITS mosaic and catalogue from the config, or the three candels-blender files."""
    sky = config["sky"]
    if sky["source"] == "candels_blender":
        files = sky["candels_blender"]
        return {k: files[k] for k in ("images", "segmaps", "catalog")}
    if sky["source"] == "fits":
        return {"mosaic": sky["fits"]["mosaic"], "catalog": sky["fits"]["catalog"]}
    return {
        "mosaic": f"results/{wildcards.dataset}/sky/mosaic.fits",
        "catalog": f"results/{wildcards.dataset}/sky/catalog.fits",
    }


def calibration_inputs(wildcards):
    """The stamps file, plus the paper's reference table when it is present."""
    return {
        "stamps": f"results/{wildcards.dataset}/stamps/stamps.h5",
        "reference": str(paper_table_path(config["sky"]["reference_catalog"])),
    }


def scarlet_psf_inputs(wildcards):
    """The configured PSF image of the scarlet fits, for a sky that does not know its PSF."""
    image = config["scarlet"]["psf"]["image"]
    return {"image": image} if image and not HAS_TRUTH else {}


# The deblend target (rules/deblend.smk): the networks applied to a mosaic's natural blends.
DEBLEND = config["deblend"]
DEBLEND_MODELS = check_deblend_models(DEBLEND, FLUX_MODELS)
# A drawn field (no deblend.mosaic) knows its truth: the deblend_truth rule measures it.
DEBLEND_DRAWN = DEBLEND["mosaic"] is None


def deblend_group_inputs(wildcards):
    """The mosaic to deblend and its catalogue: the drawn field's two files, or the
    configured mosaic and catalogue (none: sep detects the objects)."""
    if DEBLEND_DRAWN:
        field = f"results/{wildcards.dataset}/deblend/field"
        return {"mosaic": f"{field}/mosaic.fits", "catalog": f"{field}/catalog.fits"}
    given = {"mosaic": DEBLEND["mosaic"]}
    return given | ({"catalog": DEBLEND["catalog"]} if DEBLEND["catalog"] else {})


def deblend_tile_inputs(wildcards):
    """One tile's inputs: the mosaic, the groups, the trained networks, the calibration and
    the training set (the networks' domain)."""
    run = f"results/{wildcards.dataset}"
    return {
        "mosaic": deblend_group_inputs(wildcards)["mosaic"],
        "groups": f"{run}/deblend/groups.fits",
        "models": [f"{run}/models/{m}/model.keras" for m in DEBLEND_MODELS],
        "calibration": f"{run}/calibration/calibration.json",
        "train": f"{run}/blends/train.h5",
    }


def deblend_tile_files(wildcards):
    """The tiles' catalogues: one per tile of the mosaic (its shape read or computed here;
    deblend.tiles, else deblend.tile_size)."""
    count = deblend_tile_count(config, DEBLEND_DRAWN)
    return [f"results/{wildcards.dataset}/deblend/tiles/{t}.fits" for t in range(count)]


def deblend_outputs(wildcards):
    """What `snakemake deblend` builds: the deblended catalogue, and for a drawn field its
    comparison with the truth and the figure of a deblended region."""
    run = f"results/{DATASET}/deblend"
    files = [f"{run}/deblended.fits", f"{run}/deblended.csv"]
    if DEBLEND_DRAWN:
        files += [f"{run}/truth.md", f"{run}/truth.csv", f"{run}/region.png"]
    return files
