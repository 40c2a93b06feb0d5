# 3.3 sep cold/hot baseline: the test set in config["baseline"]["shards"] jobs, one gather.


rule sep_baseline_shard:
    input:
        test="results/{dataset}/blends/test.h5",
    output:
        shard=temp("results/{dataset}/baseline/shards/sep_{shard}.csv"),
    log:
        "results/{dataset}/logs/sep_baseline_shard/{shard}.log",
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        shard=lambda wildcards: int(wildcards.shard),
        settings=settings_for("sep_baseline_shard"),
    script:
        "../scripts/stage.py"


rule sep_baseline:
    input:
        test="results/{dataset}/blends/test.h5",
        shards=expand(
            "results/{{dataset}}/baseline/shards/sep_{shard}.csv",
            shard=range(config["baseline"]["shards"]),
        ),
    output:
        baseline="results/{dataset}/baseline/sep.csv",
        table3="results/{dataset}/tables/table3.csv",
    log:
        "results/{dataset}/logs/sep_baseline.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=settings_for("sep_baseline"),
    script:
        "../scripts/stage.py"


rule sep_baseline_validation:
    input:
        val="results/{dataset}/blends/val.h5",
    output:
        baseline="results/{dataset}/baseline/validation/sep.csv",
    log:
        "results/{dataset}/logs/sep_baseline_validation.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=settings_for("sep_baseline_validation"),
    script:
        "../scripts/stage.py"
