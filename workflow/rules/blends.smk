rule blend_sets:
    input:
        stamps="results/{dataset}/stamps/stamps.h5",
    output:
        train="results/{dataset}/blends/train.h5",
        val="results/{dataset}/blends/val.h5",
        test="results/{dataset}/blends/test.h5",
    log:
        "results/{dataset}/logs/blend_sets.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=config["blends"],
    script:
        "../scripts/blends.py"
