# Section 4: the output catalogue, the metrics, the figures and tables.


rule oracle:
    input:
        test="results/{dataset}/blends/test.h5",
    output:
        oracle="results/{dataset}/baseline/oracle.csv",
    log:
        "results/{dataset}/logs/oracle.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/stage.py"


rule oracle_validation:
    input:
        val="results/{dataset}/blends/val.h5",
    output:
        oracle="results/{dataset}/baseline/validation/oracle.csv",
    log:
        "results/{dataset}/logs/oracle_validation.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/stage.py"


rule calibration:
    input:
        unpack(calibration_fit_inputs),
    output:
        catalog="results/{dataset}/calibration/validation_catalog.csv",
        calibration="results/{dataset}/calibration/calibration.json",
    log:
        "results/{dataset}/logs/calibration.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=settings_for("calibration"),
    script:
        "../scripts/stage.py"


rule output_catalog:
    input:
        unpack(catalog_inputs),
    output:
        catalog="results/{dataset}/output_catalog.csv",
    log:
        "results/{dataset}/logs/output_catalog.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=settings_for("output_catalog"),
    script:
        "../scripts/stage.py"


rule paper_reference_catalog:
    input:
        table=REFERENCE_TABLE,
    output:
        catalog=f"results/{config['evaluate']['paper_reference']['name']}/output_catalog.csv",
    log:
        f"results/{config['evaluate']['paper_reference']['name']}/logs/paper_reference.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/stage.py"


ruleorder: paper_reference_catalog > output_catalog


rule metrics:
    input:
        unpack(metrics_inputs),
    output:
        metrics="results/{dataset}/metrics.csv",
        binned="results/{dataset}/binned_metrics.csv",
        by_count="results/{dataset}/metrics_by_count.csv",
    log:
        "results/{dataset}/logs/metrics.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset="{dataset}",
        settings=settings_for("metrics"),
    script:
        "../scripts/stage.py"


rule figures:
    input:
        catalog="results/{dataset}/output_catalog.csv",
        binned="results/{dataset}/binned_metrics.csv",
    output:
        figure5_png=report(
            "results/{dataset}/figures/figure5.png",
            caption="../report/figure5.rst",
            category="Photometry",
            subcategory="{dataset}",
        ),
        figure5_pdf="results/{dataset}/figures/figure5.pdf",
        figure6_png=report(
            "results/{dataset}/figures/figure6.png",
            caption="../report/figure6.rst",
            category="Photometry",
            subcategory="{dataset}",
        ),
        figure6_pdf="results/{dataset}/figures/figure6.pdf",
        figure7_png=report(
            "results/{dataset}/figures/figure7.png",
            caption="../report/figure7.rst",
            category="Photometry",
            subcategory="{dataset}",
        ),
        figure7_pdf="results/{dataset}/figures/figure7.pdf",
        figure8_png=report(
            "results/{dataset}/figures/figure8.png",
            caption="../report/figure8.rst",
            category="Photometry",
            subcategory="{dataset}",
        ),
        figure8_pdf="results/{dataset}/figures/figure8.pdf",
        figure9_png=report(
            "results/{dataset}/figures/figure9.png",
            caption="../report/figure9.rst",
            category="Photometry",
            subcategory="{dataset}",
        ),
        figure9_pdf="results/{dataset}/figures/figure9.pdf",
    log:
        "results/{dataset}/logs/figures.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset="{dataset}",
        settings=settings_for("figures"),
    script:
        "../scripts/stage.py"


rule count_figures:
    input:
        catalog="results/{dataset}/output_catalog.csv",
    output:
        **{
            f"figure{n}_png": f"results/{{dataset}}/figures/n{{n_galaxies}}/figure{n}.png"
            for n in (5, 6, 7, 8, 9)
        },
    log:
        "results/{dataset}/logs/count_figures/n{n_galaxies}.log",
    wildcard_constraints:
        n_galaxies=r"\d+",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset="{dataset}",
        n_galaxies="{n_galaxies}",
        settings=settings_for("count_figures"),
    script:
        "../scripts/stage.py"


rule count_figure:
    input:
        by_count="results/{dataset}/metrics_by_count.csv",
    output:
        png=report(
            "results/{dataset}/figures/flux_error_by_count.png",
            caption="../report/flux_error_by_count.rst",
            category="Photometry",
            subcategory="{dataset}",
        ),
        pdf="results/{dataset}/figures/flux_error_by_count.pdf",
    log:
        "results/{dataset}/logs/count_figure.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/stage.py"


rule uncertainty:
    input:
        catalog="results/{dataset}/output_catalog.csv",
        calibration="results/{dataset}/calibration/calibration.json",
        metrics="results/{dataset}/metrics.csv",
        binned="results/{dataset}/binned_metrics.csv",
    output:
        csv="results/{dataset}/tables/uncertainty.csv",
        md=report(
            "results/{dataset}/tables/uncertainty.md",
            caption="../report/uncertainty_table.rst",
            category="Uncertainties",
        ),
        reliability_csv="results/{dataset}/reliability.csv",
        figure_png=report(
            "results/{dataset}/figures/reliability.png",
            caption="../report/reliability.rst",
            category="Uncertainties",
        ),
        figure_pdf="results/{dataset}/figures/reliability.pdf",
    log:
        "results/{dataset}/logs/uncertainty.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset="{dataset}",
        settings=settings_for("uncertainty"),
    script:
        "../scripts/stage.py"


rule segmentation:
    input:
        test="results/{dataset}/blends/test.h5",
        predictions=mask_predictions,
    output:
        table="results/{dataset}/segmentation.csv",
        summary_csv="results/{dataset}/tables/segmentation.csv",
        summary_md="results/{dataset}/tables/segmentation.md",
        figure10_png=report(
            "results/{dataset}/figures/figure10.png",
            caption="../report/figure10.rst",
            category="Segmentation",
        ),
        figure10_pdf="results/{dataset}/figures/figure10.pdf",
        figure11_png=report(
            "results/{dataset}/figures/figure11.png",
            caption="../report/figure11.rst",
            category="Segmentation",
        ),
        figure11_pdf="results/{dataset}/figures/figure11.pdf",
    log:
        "results/{dataset}/logs/segmentation.log",
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=settings_for("segmentation"),
    script:
        "../scripts/stage.py"


rule table2:
    input:
        catalog="results/{dataset}/output_catalog.csv",
        summaries=flux_model_summaries,
    output:
        csv="results/{dataset}/tables/table2.csv",
        md=report(
            "results/{dataset}/tables/table2.md",
            caption="../report/table2.rst",
            category="Tables",
        ),
    log:
        "results/{dataset}/logs/table2.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=settings_for("table2"),
    script:
        "../scripts/stage.py"


rule table_markdown:
    input:
        csv="results/{dataset}/tables/{table}.csv",
    output:
        md=report(
            "results/{dataset}/tables/{table}.md",
            caption="../report/tables.rst",
            category="Tables",
        ),
    log:
        "results/{dataset}/logs/table_markdown/{table}.log",
    wildcard_constraints:
        table="table1|table3",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        title=lambda wildcards: TABLE_TITLES[wildcards.table],
    script:
        "../scripts/stage.py"


rule summary:
    input:
        reference=f"results/{config['evaluate']['paper_reference']['name']}/metrics.csv",
        ours="results/{dataset}/metrics.csv",
        catalog="results/{dataset}/output_catalog.csv",
        segmentation=segmentation_summary,
    output:
        csv="results/{dataset}/tables/summary.csv",
        md=report(
            "results/{dataset}/tables/summary.md",
            caption="../report/summary.rst",
            category="Tables",
        ),
        claims="results/{dataset}/tables/claims.csv",
    log:
        "results/{dataset}/logs/summary.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        dataset="{dataset}",
        settings=settings_for("summary"),
    script:
        "../scripts/stage.py"
