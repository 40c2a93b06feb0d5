rule train_model:
    input:
        unpack(training_inputs),
    output:
        model="results/{dataset}/models/{model}/model.keras",
        history="results/{dataset}/models/{model}/history.csv",
        curve="results/{dataset}/models/{model}/training_curve.png",
        summary="results/{dataset}/models/{model}/summary.json",
        tensorboard=directory("results/{dataset}/models/{model}/tensorboard"),
    log:
        "results/{dataset}/logs/train_model/{model}.log",
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        # GPUs the job asks for (the profile's gpu_model says which): the model's
        # training.gpus, 1 for "all" (docs/user-guide/cluster.md)
        gpu=training_gpus,
        mem_mb=8000,
        runtime=600,
    params:
        model="{model}",
        # kept outside the outputs: Snakemake deletes the outputs of a failed job
        resume_dir="results/{dataset}/resume/{model}",
        settings=settings_for("train_model"),
    script:
        "../scripts/stage.py"


rule predict:
    input:
        trained_model="results/{dataset}/models/{model}/model.keras",
        test="results/{dataset}/blends/test.h5",
    output:
        predictions="results/{dataset}/predictions/{model}.h5",
    log:
        "results/{dataset}/logs/predict/{model}.log",
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        model="{model}",
        settings=settings_for("predict"),
    script:
        "../scripts/stage.py"


rule predict_validation:
    input:
        trained_model="results/{dataset}/models/{model}/model.keras",
        val="results/{dataset}/blends/val.h5",
    output:
        predictions="results/{dataset}/predictions/validation/{model}.h5",
    log:
        "results/{dataset}/logs/predict_validation/{model}.log",
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        model="{model}",
        settings=settings_for("predict_validation"),
    script:
        "../scripts/stage.py"
