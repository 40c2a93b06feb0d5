# Issue 18, optional: networks trained on one sky source, tested on another.


rule cross_domain:
    input:
        test="results/{dataset}/blends/test.h5",
        models=expand(
            "results/{{dataset}}/models/{model}/model.keras", model=FLUX_MODELS
        ),
    output:
        table="results/{dataset}/tables/cross_domain.csv",
        markdown="results/{dataset}/tables/cross_domain.md",
    log:
        "results/{dataset}/logs/cross_domain.log",
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        dataset="{dataset}",
        others=CROSS_DOMAIN,
        settings=settings_for("cross_domain"),
    script:
        "../scripts/stage.py"
