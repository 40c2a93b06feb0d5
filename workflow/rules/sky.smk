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
        settings=config["sky"],
    script:
        "../scripts/sky.py"
