"""Training one configured model (paper 3.1-3.2): Adam, ReduceLROnPlateau (or a cosine decay
of the rate, ``training.lr_schedule``), early stopping.

Flux outputs are trained with the MAPE loss (or the squared error of ln(flux),
``training.flux_loss``), masks with binary cross-entropy (weight
``mask_loss_weight`` beside a flux loss; IoU reported). A network predicts one flux (and one
mask) per galaxy slot of the training set (K: 2 for pairs); on sets of K > 2 slots the flux
losses leave the absent slots out (:mod:`blendphot.models.losses`). A model may start from another
trained model's weights (``init_from``): every sub-model of the same name is copied
(blend2mask2flux takes its U-Net from the trained U-Net).

A resume state (Keras BackupAndRestore) lives in ``resume_dir``, outside the rule's declared
outputs: a job killed mid-training (SLURM TIMEOUT, preemption) continues from its last epoch.
Once training ends, the trained model is saved there first (``trained.keras``), then copied to
the outputs; the resume state goes only when every output is written. A failed write (disk
full, permission) leaves it, and a rerun writes the outputs without training again. The output
directories are checked writable before the first epoch. A resume state left by a run of other
settings or inputs is discarded (``run.json`` records them).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from blendphot.blends import open_blend_set
from blendphot.blends.layout import slot_count
from blendphot.errors import ConfigError, InputError
from blendphot.io import atomic_path
from blendphot.models.data import (
    TARGET_DATASETS,
    check_training_values,
    normalisation_scales,
    training_dataset,
    training_source,
)
from blendphot.models.modelfile import check_model_file, load_model_file
from blendphot.models.registry import (
    WIDTH_TARGET,
    Architecture,
    get_architecture,
    load_model_modules,
)
from blendphot.models.settings import (  # training_settings: re-exported for the benchmarks
    ModelSpec,
    TrainingSettings,
    training_settings,  # noqa: F401
)
from blendphot.version import software_version

log = logging.getLogger(__name__)


def resolve_switch(value: str | bool, gpus: list) -> bool:
    """'auto' means on when a GPU is visible; booleans pass through."""
    return bool(gpus) if value == "auto" else bool(value)


def configure_tensorflow(threads: int, seed: int, deterministic: bool) -> list:
    """Set thread counts, seeds and determinism; return the visible GPUs (logged)."""
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # TensorFlow already initialised in this process (tests, notebooks)
        log.info("TensorFlow already initialised: thread counts left as they are")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            log.info(
                "GPU: %s (compute capability %s)",
                details.get("device_name", gpu.name),
                details.get("compute_capability"),
            )
    else:
        log.info("no GPU visible: running on the CPU")
    return gpus


CPU_TRAINING_LIMIT = 10_000
"""Training blends beyond which training without a GPU is worth a warning (the demo's 3000
train on the CPU in about a minute; the paper's 20 000 would take hours)."""


def training_devices(gpus: list, setting: str | int = "all") -> list[str]:
    """The devices one training runs on: the visible GPUs (``setting`` "all", or the first
    n), by name (``/gpu:0``, ...); [] where there is none (the CPU)."""
    names = [f"/gpu:{i}" for i in range(len(gpus))]
    if setting == "all":
        return names
    if int(setting) > len(names):
        log.warning(
            "training.gpus is %s but %d GPU(s) are visible: using those", setting, len(names)
        )
    return names[: int(setting)]


def training_strategy(devices: Sequence[str]):
    """tf.distribute's MirroredStrategy over ``devices`` (one model copy per device, each
    on an equal share of every batch, gradients summed across them) where there are two or
    more, else the default strategy (one device)."""
    import tensorflow as tf

    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(list(devices))
    return tf.distribute.get_strategy()


def build_model(
    architecture: Architecture,
    params: dict,
    size: int,
    input_scale: float,
    flux_scale: float,
    slots: int = 2,
    name: str | None = None,
    log_flux: bool = False,
):
    """The registered network wrapped with its normalisation: raw blend in, a dict out
    (``flux`` (N, K) in the catalogue's flux units, ``masks`` (N, S, S, K) in [0, 1]), for
    ``slots`` = K galaxy slots (ConfigError naming model ``name`` when its builder cannot).
    The flux is ``flux_scale`` times the network's output, or with ``log_flux`` times its
    exponential (:class:`~blendphot.models.losses.LogFlux`, ``training.flux_loss: log_mse``)."""
    import keras
    from keras import layers

    from blendphot.models.losses import LogFlux
    from blendphot.models.widths import NLL_OUTPUT, nll_output

    core = architecture.build(
        input_shape=(size, size, 1), **architecture.builder_params(params, slots, name)
    )
    inputs = keras.Input(shape=(size, size, 1), name="blend")
    outs = core(layers.Rescaling(1.0 / input_scale, name="input_scale")(inputs))
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    named = {}
    for target, out in zip(architecture.targets_for(params), outs, strict=True):
        if target == "flux" and log_flux:
            named[target] = LogFlux(flux_scale, name=target, dtype="float32")(out)
        elif target in ("flux", WIDTH_TARGET):
            named[target] = layers.Rescaling(flux_scale, name=target, dtype="float32")(out)
        else:
            named["masks"] = layers.Activation("linear", name="masks", dtype="float32")(out)
    if WIDTH_TARGET in named:  # trained through the flux beside it (blendphot.models.widths)
        named[NLL_OUTPUT] = nll_output(named["flux"], named[WIDTH_TARGET])
    return keras.Model(inputs, named, name=core.name)


def compile_model(
    model,
    targets: Sequence[str],
    settings: TrainingSettings | Mapping,
    jit: bool,
    slots: int = 2,
    steps_per_epoch: int | None = None,
) -> None:
    """Adam at ``settings.learning_rate`` (with ``settings.lr_schedule`` cosine, decaying
    to 0 over ``settings.epochs`` x ``steps_per_epoch`` steps); the fluxes' loss of
    ``settings.flux_loss``: MAPE (or the squared log error,
    :class:`~blendphot.models.losses.LogFluxMSE`), binary cross-entropy (and IoU) on
    masks (weight ``settings.mask_loss_weight`` beside a flux); a flux width, if the model has
    one, the Gaussian NLL of the true fluxes. With ``slots`` > 2 the MAPE scores an absent
    slot (NaN true flux) by the flux predicted there, weighted by ``settings.absent_weight``
    (:class:`~blendphot.models.losses.MaskedMAPE`), and the width's NLL averages over the
    present slots; the masks of absent slots are empty and stay in the cross-entropy (no
    galaxy there is the truth the network must learn). Pairs (2 slots) keep Keras's MAPE
    itself."""
    import keras

    from blendphot.models.losses import LogFluxMSE, MaskedMAPE
    from blendphot.models.widths import NLL_OUTPUT, GaussianFluxNLL

    settings = TrainingSettings.of(settings)
    losses, weights, metrics = {}, {}, {}
    if "flux" in targets and settings.flux_loss == "log_mse":
        losses["flux"] = LogFluxMSE(settings.absent_weight if slots > 2 else 0.0)
        weights["flux"] = 1.0
    elif "flux" in targets:
        losses["flux"] = (
            MaskedMAPE(settings.absent_weight)
            if slots > 2
            else keras.losses.MeanAbsolutePercentageError()
        )
        weights["flux"] = 1.0
    if WIDTH_TARGET in targets:
        losses[NLL_OUTPUT] = GaussianFluxNLL(masked=slots > 2)
        weights[NLL_OUTPUT] = 1.0
    if "masks" in targets:
        losses["masks"] = keras.losses.BinaryCrossentropy()
        weights["masks"] = settings.mask_loss_weight if "flux" in targets else 1.0
        metrics["masks"] = [keras.metrics.BinaryIoU(target_class_ids=[1], name="iou")]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate(settings, steps_per_epoch)),
        loss=losses,
        loss_weights=weights,
        metrics=metrics,
        jit_compile=jit,
    )


def learning_rate(settings: TrainingSettings, steps_per_epoch: int | None):
    """Adam's learning rate: ``settings.learning_rate``, or with ``lr_schedule`` cosine a
    cosine decay from it to 0 over ``epochs`` x ``steps_per_epoch`` optimizer steps (the
    optimizer's step count, which a resumed training restores, sets where it stands)."""
    import keras

    if settings.lr_schedule != "cosine":
        return settings.learning_rate
    if not steps_per_epoch:
        raise ValueError("a cosine learning-rate schedule needs the steps per epoch")
    return keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, decay_steps=settings.epochs * steps_per_epoch
    )


def named_submodels(model) -> dict:
    """Every nested keras.Model inside ``model``, by name (the model itself excluded)."""
    import keras

    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found[layer.name] = layer
            found.update(named_submodels(layer))
    return found


def widened(source: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """A convolution kernel (h, w, c_in, c_out) copied into a kernel with more input channels
    (the extra ones zero), so that the wider layer computes what the source did; None when
    the shapes differ otherwise."""
    if source.ndim != 4 or len(shape) != 4:
        return None
    if source.shape[:2] != shape[:2] or source.shape[3] != shape[3] or source.shape[2] > shape[2]:
        return None
    out = np.zeros(shape, source.dtype)
    out[:, :, : source.shape[2], :] = source
    return out


def initialise_from(model, source_path: Path) -> list[str]:
    """Copy the weights of every sub-model that ``model`` shares (by name and shapes) with
    the trained model at ``source_path``; returns the names copied.

    A sub-model whose first convolution takes more input channels than the source's (the
    blend2flux head of blend2mask2flux, which also reads the two masks) gets the source's
    kernel on its first channels and zeros on the others: it starts as the source network,
    ignoring the extra inputs, and learns what they add.
    """
    import blendphot.models.losses  # noqa: F401 - registers the masked flux loss
    import blendphot.models.widths  # noqa: F401 - registers a width model's layers and loss

    if not Path(source_path).exists():
        raise InputError(source_path, "init_from model has not been trained")
    source = named_submodels(load_model_file(source_path))
    target = named_submodels(model)
    copied = []
    for name, sub in target.items():
        if name not in source:
            continue
        src, dst = source[name].get_weights(), sub.get_weights()
        if len(src) != len(dst):
            continue
        if [w.shape for w in src] != [w.shape for w in dst]:
            first = widened(src[0], dst[0].shape)
            if first is None or [w.shape for w in src[1:]] != [w.shape for w in dst[1:]]:
                continue
            src = [first, *src[1:]]
        sub.set_weights(src)
        copied.append(name)
    if not copied:
        raise InputError(source_path, f"no sub-model in common with {model.name} to copy")
    log.info("initialised %s from %s", copied, source_path)
    return copied


def freeze(model, names: Sequence[str]) -> None:
    """Keep the weights of these sub-models as initialised (not trained further)."""
    subs = named_submodels(model)
    for name in names:
        subs[name].trainable = False
    log.info("frozen: %s", list(names))


def pass_per_epoch(feed) -> object:
    """A callback that makes epoch k draw pass k of the training feed's shuffle (and
    symmetry) sequence, also when a resumed run starts at epoch k > 0."""
    import keras

    def begin(epoch, logs=None):
        feed.passes = epoch

    return keras.callbacks.LambdaCallback(on_epoch_begin=begin)


def check_inputs(paths: Sequence[Path], targets: Sequence[str]) -> int:
    """Fail before training if a blend set lacks what the model learns from, the sets differ
    in their number of galaxy slots, or a set has NaN pixels or non-positive true fluxes
    (the blend set contract, :func:`~blendphot.models.data.check_training_values`); return
    that number, K."""
    slots = []
    for path in paths:
        with open_blend_set(path) as h5:
            for target in targets:
                if TARGET_DATASETS[target] not in h5:
                    raise InputError(path, f"blend set lacks dataset {TARGET_DATASETS[target]}")
            slots.append(slot_count(h5))
            if slots[-1] != slots[0]:
                raise InputError(
                    path, f"blend set has {slots[-1]} galaxy slots, {paths[0]} has {slots[0]}"
                )
    for path in paths:
        check_training_values(path)
    return slots[0]


def check_writable(directories: Iterable[Path]) -> None:
    """Create each directory and write (then remove) an empty probe file in it: one
    InputError naming the first directory that cannot be made or written, before any epoch
    (the outputs are written after the last one)."""
    for directory in dict.fromkeys(Path(d) for d in directories):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=directory)
        except OSError as exc:
            raise InputError(
                directory,
                f"output directory cannot be written ({exc.strerror or exc}): training would "
                "lose its work at the end; fix it and rerun",
            ) from exc
        os.close(fd)
        os.unlink(probe)


RUN_FILE = "run.json"
"""In ``resume_dir``: what the resume state was made from (:func:`run_identity`)."""
TRAINED_MODEL = "trained.keras"
"""In ``resume_dir``: the model as training ended, saved before any output is written."""
TRAINED_FACTS = "trained.json"
"""In ``resume_dir``: the summary of the finished training (written after the model)."""


def run_identity(
    model: ModelSpec | Mapping,
    settings: TrainingSettings | Mapping,
    seed: int,
    slots: int,
    inputs: Sequence[Path],
) -> dict:
    """What a resume state depends on: the model's config entry, the training settings (as
    config, :meth:`~blendphot.models.settings.ModelSpec.as_config`), the seed, K, and the size
    and modification time of each input file (blend sets, init models)."""

    def stamp(path: Path) -> list[int]:
        stat = Path(path).stat()
        return [stat.st_size, stat.st_mtime_ns]

    return json.loads(
        json.dumps(
            {
                "model": ModelSpec.of(model).as_config(),
                "training": TrainingSettings.of(settings).identity(),
                "seed": seed,
                "slots": slots,
                "inputs": [stamp(p) for p in inputs],
            },
            sort_keys=True,
            default=str,
        )
    )


def open_resume_state(resume_dir: Path, identity: dict) -> None:
    """Keep the resume state in ``resume_dir`` when it was made by a run of ``identity``;
    discard it (logged) when it was made from other settings or inputs; record ``identity``."""
    run_file = resume_dir / RUN_FILE
    if run_file.exists():
        try:
            same = json.loads(run_file.read_text()) == identity
        except (OSError, ValueError):
            same = False
        if not same:
            log.warning(
                "%s: the resume state was made from other settings or inputs: discarded",
                resume_dir,
            )
            shutil.rmtree(resume_dir)
    resume_dir.mkdir(parents=True, exist_ok=True)
    if not run_file.exists():
        with atomic_path(run_file) as tmp:
            tmp.write_text(json.dumps(identity, indent=2, sort_keys=True))


def finished_training(resume_dir: Path) -> dict | None:
    """The summary of a training that ended in an earlier run whose outputs were not all
    written (its model is ``resume_dir/trained.keras``), or None; None too, the two files
    removed (logged), when they do not read back (the run resumes from the backup)."""
    facts, model = resume_dir / TRAINED_FACTS, resume_dir / TRAINED_MODEL
    if not facts.exists():
        return None
    try:
        check_model_file(model)
        return json.loads(facts.read_text())
    except (InputError, OSError, ValueError) as exc:
        log.warning("%s: the finished training cannot be read back (%s): resuming", model, exc)
        facts.unlink(missing_ok=True)
        model.unlink(missing_ok=True)
        return None


def write_failure(path: Path, exc: OSError, resume_dir: Path, kept: str) -> InputError:
    """The one error of a failed write after training: the file, the system's reason, and
    what the kept resume state lets a rerun do."""
    return InputError(
        path,
        f"cannot write this file ({exc.strerror or exc}); the resume state in {resume_dir} is "
        f"kept: {kept}. Free space or fix the permission, then rerun",
    )


def write_outputs(
    resume_dir: Path,
    history: pd.DataFrame,
    summary: dict,
    model_path: Path,
    history_path: Path,
    summary_path: Path | None,
    curve_path: Path | None,
    title: str,
) -> None:
    """Copy the trained model out of ``resume_dir`` and write the history, summary and
    curve, each atomically; if one write fails, remove those already written (the outputs
    are all there or none) and raise :func:`write_failure`."""
    from blendphot.figures.training import training_curve

    written = []

    def model(tmp: Path) -> None:
        shutil.copyfile(resume_dir / TRAINED_MODEL, tmp)

    steps = [(model_path, model), (history_path, lambda tmp: history.to_csv(tmp, index=False))]
    if summary_path is not None:
        text = json.dumps(summary, indent=2)
        steps.append((summary_path, lambda tmp: tmp.write_text(text)))
    try:
        for path, write in steps:
            current = path
            with atomic_path(path) as tmp:
                write(tmp)
            written.append(path)
        if curve_path is not None:
            current = curve_path
            training_curve(history, title, [curve_path])
            written.append(curve_path)
    except OSError as exc:
        for path in written:
            Path(path).unlink(missing_ok=True)
        kept = "training has ended and its model is saved there: a rerun writes the outputs"
        kept += " without training again"
        raise write_failure(Path(current), exc, resume_dir, kept) from exc


def train_model(
    model: ModelSpec | Mapping,
    settings: TrainingSettings | Mapping,
    train_path: Path,
    val_path: Path,
    model_path: Path,
    history_path: Path,
    resume_dir: Path,
    seed: int,
    threads: int = 1,
    init_paths: Sequence[Path] = (),
    tensorboard_dir: Path | None = None,
    summary_path: Path | None = None,
    extra_callbacks: Sequence = (),
    name: str | None = None,
    curve_path: Path | None = None,
    devices: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Train one ``model`` (its config entry, a :class:`~blendphot.models.settings.ModelSpec`
    or a mapping; ``name``: the configured name, for errors) with the training ``settings``
    (a :class:`~blendphot.models.settings.TrainingSettings` or a mapping, the model's
    overrides applied); write model.keras, the history CSV (and TensorBoard logs, a summary
    JSON, the training curve when asked). Returns the history, one row per epoch. The
    network predicts the training set's K galaxy slots.

    Every output directory is checked writable before training. When training ends the
    model is saved in ``resume_dir`` first, then the outputs are written; ``resume_dir`` is
    removed only once they all are. A failed write is one InputError naming the file, and
    leaves ``resume_dir``: the rerun writes the outputs without training again.

    ``devices``: the devices to train on (default the GPUs of ``settings.gpus``; two or more:
    MirroredStrategy, :func:`training_strategy`); the log and the summary name them."""
    model, settings = ModelSpec.of(model), TrainingSettings.of(settings)
    load_model_modules([model.module] if model.module is not None else [])
    architecture = get_architecture(model.architecture)
    params = dict(model.params)
    all_targets = architecture.targets_for(params)
    data_targets = tuple(t for t in all_targets if t != WIDTH_TARGET)  # in the blend sets
    architecture.check_params(params, name)  # before reading the sets
    slots = check_inputs([train_path, val_path], data_targets)
    architecture.builder_params(params, slots, name)  # fail early
    sources = model.init_sources
    if len(init_paths) != len(sources):
        raise ConfigError(
            None, f"init_from names {sources} but {len(init_paths)} trained model files were given"
        )
    unknown = set(settings.freeze_init) - set(sources)
    if unknown:
        raise ConfigError(None, f"freeze_init {sorted(unknown)} not among init_from {sources}")
    for path in init_paths:
        check_model_file(path)
    resume_dir = Path(resume_dir)
    outputs = [model_path, history_path, summary_path, curve_path]
    check_writable(
        [
            *(Path(p).parent for p in outputs if p is not None),
            *([tensorboard_dir] if tensorboard_dir is not None else []),
            resume_dir,
        ]
    )
    identity = run_identity(model, settings, seed, slots, [train_path, val_path, *init_paths])
    open_resume_state(resume_dir, identity)
    summary = finished_training(resume_dir)
    history_log = resume_dir / "history.csv"  # appended across restarts, copied at the end
    if summary is None:
        summary = _fit_and_save(
            model, settings, train_path, val_path, resume_dir, seed, threads,
            init_paths, tensorboard_dir, extra_callbacks, name, architecture, all_targets,
            data_targets, slots, sources, devices,
        )  # fmt: skip
    else:
        log.info(
            "%s: training ended in an earlier run (%d epochs); writing its outputs",
            resume_dir, summary["epochs"],
        )  # fmt: skip
    history = pd.read_csv(history_log).drop_duplicates("epoch", keep="last")
    title = name or model.architecture
    args = (model_path, history_path, summary_path, curve_path, title)
    write_outputs(resume_dir, history, summary, *args)
    shutil.rmtree(resume_dir, ignore_errors=True)
    log.info("best val_loss %.4f over %d epochs", history["val_loss"].min(), len(history))
    return history


def warn_if_best_epoch_lost(history: pd.DataFrame, monitor: str, early) -> None:
    """Log a warning when the model does not hold the weights of the best epoch of the
    history: a run resumed from Keras's backup restores the best weights of the epochs it
    ran itself only (EarlyStopping's best weights are not part of the backup)."""
    if monitor not in history or not history[monitor].notna().any():
        return
    best = int(history.loc[history[monitor].idxmin(), "epoch"])
    held = early.best_epoch if early.best_weights is not None else int(history["epoch"].max())
    if held != best:
        log.warning(
            "the model holds the weights of epoch %d, not those of the best epoch %d (%s "
            "%.4g): that epoch ran before the run resumed, and Keras's backup keeps the last "
            "epoch's weights only",
            held + 1,
            best + 1,
            monitor,
            history[monitor].min(),
        )


def _fit_and_save(
    spec: ModelSpec,
    settings: TrainingSettings,
    train_path: Path,
    val_path: Path,
    resume_dir: Path,
    seed: int,
    threads: int,
    init_paths: Sequence[Path],
    tensorboard_dir: Path | None,
    extra_callbacks: Sequence,
    name: str | None,
    architecture: Architecture,
    all_targets: tuple[str, ...],
    data_targets: tuple[str, ...],
    slots: int,
    sources: list[str],
    devices: Sequence[str] | None = None,
) -> dict:
    """Train the model of ``spec`` with ``settings`` (resuming from the Keras backup in
    ``resume_dir`` if there is one), then save
    the model as ``resume_dir/trained.keras`` and its summary as ``trained.json``, in that
    order; return the summary. The backup stays until the caller removes ``resume_dir``."""
    import keras

    from blendphot.models.widths import POINT_LOSS, PointLoss, with_nll_target

    gpus = configure_tensorflow(threads, seed, settings.deterministic)
    mixed = resolve_switch(settings.mixed_precision, gpus)
    jit = resolve_switch(settings.xla, gpus)
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    log.info("mixed precision: %s, XLA: %s", mixed, jit)
    devices = list(devices) if devices is not None else training_devices(gpus, settings.gpus)
    strategy = training_strategy(devices)
    log.info(
        "training on %s: %d replica(s), global batch %d (%d per replica), learning rate %g",
        ", ".join(devices) or "the CPU", strategy.num_replicas_in_sync, settings.batch_size,
        settings.batch_size // strategy.num_replicas_in_sync, settings.learning_rate,
    )  # fmt: skip
    with open_blend_set(train_path) as h5:
        n_train, size = h5["blend"].shape[0], h5["blend"].shape[-1]
    if not gpus and n_train > CPU_TRAINING_LIMIT:
        log.warning(
            "no GPU visible: training on %d blends on the CPU will take long (a GPU node: "
            "docs/user-guide/cluster.md)", n_train,
        )  # fmt: skip
    batch = settings.batch_size
    limit = settings.memory_limit_gb
    targets = data_targets
    feed = training_source(train_path, batch, True, seed, targets, settings.augment, limit)
    train = feed.dataset()
    val = training_dataset(val_path, batch, False, 0, targets, False, limit)
    if WIDTH_TARGET in all_targets:
        train, val = with_nll_target(train), with_nll_target(val)
    input_scale, flux_scale = normalisation_scales(train_path)
    params = dict(spec.params)
    with strategy.scope():  # the variables live on every device of the strategy
        model = build_model(
            architecture, params, size, input_scale, flux_scale, slots, name,
            log_flux=settings.flux_loss == "log_mse",
        )  # fmt: skip
        for source, path in zip(sources, init_paths, strict=True):
            copied = initialise_from(model, Path(path))
            if source in settings.freeze_init:
                freeze(model, copied)
        compile_model(model, all_targets, settings, jit, slots, steps_per_epoch=len(feed))
    log.info("model %s: %d parameters", model.name, model.count_params())
    history_log = resume_dir / "history.csv"
    # a width's loss is left out of the schedule: the fluxes train as they would without one
    monitor = "val_loss" if WIDTH_TARGET not in all_targets else POINT_LOSS
    early = keras.callbacks.EarlyStopping(
        monitor=monitor, mode="min", patience=settings.patience, restore_best_weights=True
    )
    callbacks = [
        *([PointLoss()] if WIDTH_TARGET in all_targets else []),
        # kept when fit ends: removed with resume_dir once the outputs are written
        keras.callbacks.BackupAndRestore(str(resume_dir / "backup"), delete_checkpoint=False),
        pass_per_epoch(feed),
        *(
            [
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor,
                    mode="min",
                    factor=settings.lr_factor,
                    patience=settings.lr_patience,
                )
            ]
            if settings.lr_schedule == "plateau"
            else []  # a schedule sets the rate itself (Keras cannot override it)
        ),
        early,
        keras.callbacks.CSVLogger(str(history_log), append=True),
    ]
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir), profile_batch=0))
    start = time.perf_counter()
    model.fit(
        train,
        validation_data=val,
        epochs=settings.epochs,
        callbacks=[*callbacks, *extra_callbacks],
        shuffle=False,  # the feed shuffles (per pass, seeded); Keras cannot shuffle a dataset
        verbose=2,
    )
    seconds = time.perf_counter() - start
    history = pd.read_csv(history_log).drop_duplicates("epoch", keep="last")
    warn_if_best_epoch_lost(history, monitor, early)
    summary = {
        "parameters": int(model.count_params()),
        "epochs": int(len(history)),
        "best_val_loss": float(history["val_loss"].min()),
        "seconds_this_run": round(seconds, 3),
        "device": "GPU" if gpus else "CPU",
        "devices": devices or ["/cpu:0"],
        "replicas": int(strategy.num_replicas_in_sync),
        "mixed_precision": mixed,
        "xla": jit,
        "targets": list(all_targets),
        "slots": slots,
        **software_version(),  # version and commit
    }
    current = resume_dir / TRAINED_MODEL
    try:
        with atomic_path(current) as tmp:
            model.save(tmp)
        current = resume_dir / TRAINED_FACTS
        with atomic_path(current) as tmp:
            tmp.write_text(json.dumps(summary, indent=2))
    except OSError as exc:
        (resume_dir / TRAINED_MODEL).unlink(missing_ok=True)
        kept = "a rerun resumes from the backup of the last epoch"
        raise write_failure(current, exc, resume_dir, kept) from exc
    return summary
