# Optional: fetch the published candels-blender data set (Zenodo record 2604740) for
# sky.source: candels_blender. Defined only with sky.candels_blender.download: true, so that
# neither the demo nor the tests ever reach for the network.
if config["sky"]["candels_blender"]["download"]:

    rule download_candels_blender:
        output:
            images=config["sky"]["candels_blender"]["images"],
            segmaps=config["sky"]["candels_blender"]["segmaps"],
            catalog=config["sky"]["candels_blender"]["catalog"],
        log:
            "results/logs/download_candels_blender.log",
        conda:
            "../../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        script:
            "../scripts/stage.py"
