# The configuration this run uses, as Snakemake merged it (config/README.md: overlays).


rule effective_config:
    output:
        config="results/{dataset}/config.yaml",
    log:
        "results/{dataset}/logs/effective_config.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=settings_for("effective_config"),
    script:
        "../scripts/stage.py"
