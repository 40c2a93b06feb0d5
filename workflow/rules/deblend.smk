# Beyond the paper: the trained networks applied to the natural blends of a mosaic, tile by
# tile (`snakemake deblend`; docs/user-guide/deblending.md).


rule deblend_field:
    output:
        mosaic="results/{dataset}/deblend/field/mosaic.fits",
        catalog="results/{dataset}/deblend/field/catalog.fits",
    log:
        "results/{dataset}/logs/deblend_field.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=settings_for("deblend_field"),
    script:
        "../scripts/stage.py"


rule deblend_groups:
    input:
        unpack(deblend_group_inputs),
    output:
        groups="results/{dataset}/deblend/groups.fits",
    log:
        "results/{dataset}/logs/deblend_groups.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=settings_for("deblend_groups"),
    script:
        "../scripts/stage.py"


rule deblend_tile:
    input:
        unpack(deblend_tile_inputs),
    output:
        tile="results/{dataset}/deblend/tiles/{tile}.fits",
    log:
        "results/{dataset}/logs/deblend_tile/{tile}.log",
    conda:
        "../../envs/deblend.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        tile="{tile}",
        model_names=DEBLEND_MODELS,
        settings=settings_for("deblend_tile"),
    script:
        "../scripts/stage.py"


rule deblend_merge:
    input:
        tiles=deblend_tile_files,
    output:
        fits="results/{dataset}/deblend/deblended.fits",
        csv="results/{dataset}/deblend/deblended.csv",
    log:
        "results/{dataset}/logs/deblend_merge.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/stage.py"


rule deblend_truth:
    input:
        deblended="results/{dataset}/deblend/deblended.fits",
        truth="results/{dataset}/deblend/field/catalog.fits",
        mosaic="results/{dataset}/deblend/field/mosaic.fits",
        test_catalog="results/{dataset}/output_catalog.csv",
    output:
        csv="results/{dataset}/deblend/truth.csv",
        md="results/{dataset}/deblend/truth.md",
        figure=report(
            "results/{dataset}/deblend/region.png",
            caption="../report/deblend_region.rst",
            category="Deblending",
        ),
    log:
        "results/{dataset}/logs/deblend_truth.log",
    conda:
        "../../envs/deblend.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dataset="{dataset}",
        settings=settings_for("deblend_truth"),
    script:
        "../scripts/stage.py"
