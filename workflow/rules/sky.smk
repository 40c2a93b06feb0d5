rule synthetic_sky:
    output:
        mosaic="results/{dataset}/sky/mosaic.fits",
        catalog="results/{dataset}/sky/catalog.fits",
    log:
        "results/{dataset}/logs/synthetic_sky.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=settings_for("synthetic_sky"),
    script:
        "../scripts/stage.py"


rule sky_calibration:
    input:
        unpack(calibration_inputs),
    output:
        figure=report(
            "results/{dataset}/figures/sky_calibration.png",
            caption="../report/sky_calibration.rst",
            category="Sample",
        ),
    log:
        "results/{dataset}/logs/sky_calibration.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    script:
        "../scripts/stage.py"
