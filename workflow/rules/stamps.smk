rule stamps:
    input:
        unpack(stamps_inputs),
    output:
        stamps="results/{dataset}/stamps/stamps.h5",
        table1="results/{dataset}/tables/table1.csv",
        cleaning="results/{dataset}/stamps/cleaning.csv",
    log:
        "results/{dataset}/logs/stamps.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        settings=settings_for("stamps"),
    script:
        "../scripts/stage.py"


rule figure1:
    input:
        stamps="results/{dataset}/stamps/stamps.h5",
    output:
        figure1_png=report(
            "results/{dataset}/figures/figure1.png",
            caption="../report/figure1.rst",
            category="Sample",
        ),
        figure1_pdf="results/{dataset}/figures/figure1.pdf",
    log:
        "results/{dataset}/logs/figure1.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    script:
        "../scripts/stage.py"
