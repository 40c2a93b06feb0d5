rule stamps:
    input:
        mosaic="results/{dataset}/sky/mosaic.fits",
        catalog="results/{dataset}/sky/catalog.fits",
    output:
        stamps="results/{dataset}/stamps/stamps.h5",
        table1="results/{dataset}/tables/table1.csv",
    log:
        "results/{dataset}/logs/stamps.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=config["stamps"],
    script:
        "../scripts/stamps.py"
