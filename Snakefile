# blendphot: photometry of blended galaxies with deep learning.
# Reproduces Boucaud et al. 2019 (MNRAS 491, 2481); the rule files follow the paper's sections.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"  # config validation, shared input functions
include: "workflow/rules/provenance.smk"  # the effective configuration of the run
include: "workflow/rules/sky.smk"  # 2.1 parent sample (a synthetic CANDELS-like sky)
include: "workflow/rules/stamps.smk"  # 2.1 selection, stamps, neighbour removal
include: "workflow/rules/download.smk"  # optional: the candels-blender data (Zenodo)
include: "workflow/rules/blends.smk"  # 2.2-2.3 blending and galaxy-disjoint splits
include: "workflow/rules/models.smk"  # 3.1-3.2 training and prediction, one model per wildcard
include: "workflow/rules/methods.smk"  # methods of one's own, each an extra rule file
include: "workflow/rules/baseline.smk"  # 3.3 sep cold/hot baseline
include: "workflow/rules/results.smk"  # 4 output catalogue, metrics, figures
include: "workflow/rules/crossdomain.smk"  # optional: trained on one sky, tested on another
include: "workflow/rules/deblend.smk"  # beyond: the networks on the natural blends of a mosaic


rule all:
    default_target: True
    input:
        final_outputs(),


# `snakemake deblend`: the trained networks on the natural blends of a mosaic (deblend.smk).
rule deblend:
    input:
        deblend_outputs,
    localrule: True


# Every rule hands its stage exactly the files, parameters and settings the stage declares.
check_rules(workflow.rules)
