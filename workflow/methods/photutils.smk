# A method of one's own as an extra rule (docs/extending.md): photutils' segmentation
# deblending (detect_sources + deblend_sources + SourceCatalog), associated to the galaxies'
# true positions like the sep baseline. Enabled by a `methods:` entry in the config:
#
#   methods:
#     photutils:
#       rule: workflow/methods/photutils.smk
#       settings: {thresh: 1.5, contrast: 0.001}
#
# The contract: read the blend sets, write results/{dataset}/predictions/photutils.h5 (test)
# and results/{dataset}/predictions/validation/photutils.h5 (validation) in the predictions
# layout (blendphot.contracts). Any command works: here a Python module, in its own env.


rule photutils:
    input:
        blends="results/{dataset}/blends/test.h5",
    output:
        predictions="results/{dataset}/predictions/photutils.h5",
    log:
        "results/{dataset}/logs/photutils.log",
    conda:
        "../../envs/photutils.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        options=method_options("photutils"),
    shell:
        "PYTHONPATH={PACKAGE_ROOT} python -m blendphot.methods.photutils_deblend"
        " {input.blends} {output.predictions}"
        " --name photutils {params.options} > {log} 2>&1"


rule photutils_validation:
    input:
        blends="results/{dataset}/blends/val.h5",
    output:
        predictions="results/{dataset}/predictions/validation/photutils.h5",
    log:
        "results/{dataset}/logs/photutils_validation.log",
    conda:
        "../../envs/photutils.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        options=method_options("photutils"),
    shell:
        "PYTHONPATH={PACKAGE_ROOT} python -m blendphot.methods.photutils_deblend"
        " {input.blends} {output.predictions}"
        " --name photutils {params.options} > {log} 2>&1"
