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
        settings=settings_for("blend_sets"),
    script:
        "../scripts/stage.py"


rule blend_figures:
    input:
        train="results/{dataset}/blends/train.h5",
        val="results/{dataset}/blends/val.h5",
        test="results/{dataset}/blends/test.h5",
    output:
        figure2_png=report(
            "results/{dataset}/figures/figure2.png",
            caption="../report/figure2.rst",
            category="Blends",
        ),
        figure2_pdf="results/{dataset}/figures/figure2.pdf",
        histograms=report(
            "results/{dataset}/figures/blend_histograms.png",
            caption="../report/blend_histograms.rst",
            category="Blends",
        ),
    log:
        "results/{dataset}/logs/blend_figures.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/stage.py"
