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


# Beside sep: scarlet2 model fits (config["scarlet"]), sharded the same way, one gather.


rule scarlet_psf:
    input:
        unpack(scarlet_psf_inputs),
    output:
        psf="results/{dataset}/baseline/scarlet_psf.fits",
    log:
        "results/{dataset}/logs/scarlet_psf.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=settings_for("scarlet_psf"),
    script:
        "../scripts/stage.py"


rule scarlet_shard:
    input:
        test="results/{dataset}/blends/test.h5",
        psf="results/{dataset}/baseline/scarlet_psf.fits",
    output:
        shard=temp("results/{dataset}/baseline/shards/scarlet_{shard}.csv"),
    log:
        "results/{dataset}/logs/scarlet_shard/{shard}.log",
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../../envs/scarlet.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        shard=lambda wildcards: int(wildcards.shard),
        settings=settings_for("scarlet_shard"),
    script:
        "../scripts/stage.py"


rule scarlet:
    input:
        test="results/{dataset}/blends/test.h5",
        shards=expand(
            "results/{{dataset}}/baseline/shards/scarlet_{shard}.csv",
            shard=range(config["scarlet"]["shards"]),
        ),
    output:
        baseline="results/{dataset}/baseline/scarlet.csv",
    log:
        "results/{dataset}/logs/scarlet.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/stage.py"


# The validation blends, for the calibration of the flux uncertainties (one job each).


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


rule scarlet_validation:
    input:
        val="results/{dataset}/blends/val.h5",
        psf="results/{dataset}/baseline/scarlet_psf.fits",
    output:
        baseline="results/{dataset}/baseline/validation/scarlet.csv",
    log:
        "results/{dataset}/logs/scarlet_validation.log",
    conda:
        "../../envs/scarlet.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        settings=settings_for("scarlet_validation"),
    script:
        "../scripts/stage.py"
