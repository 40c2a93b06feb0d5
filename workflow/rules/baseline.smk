rule sep_baseline:
    input:
        test="results/{dataset}/blends/test.h5",
    output:
        baseline="results/{dataset}/baseline/sep.csv",
        table3="results/{dataset}/tables/table3.csv",
    log:
        "results/{dataset}/logs/sep_baseline.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        settings=config["baseline"],
    script:
        "../scripts/baseline.py"
