rule evaluate:
    input:
        test="results/{dataset}/blends/test.h5",
        predictions=model_predictions,
        baseline="results/{dataset}/baseline/sep.csv",
    output:
        catalog="results/{dataset}/output_catalog.csv",
        metrics="results/{dataset}/metrics.csv",
    log:
        "results/{dataset}/logs/evaluate.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=config["evaluate"],
        columns={name: model_column(config, name) for name in MODELS},
    script:
        "../scripts/evaluate.py"


rule figures:
    input:
        catalog="results/{dataset}/output_catalog.csv",
    output:
        figure5_png=report(
            "results/{dataset}/figures/figure5.png",
            caption="../report/figure5.rst",
            category="Photometry",
        ),
        figure5_pdf="results/{dataset}/figures/figure5.pdf",
    log:
        "results/{dataset}/logs/figures.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/figures.py"
