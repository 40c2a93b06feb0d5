"""SLURM for real: the tiny workflow through profiles/slurm on a one-node Slurm cluster.

The cluster (tools/slurm/onenode.py) is started once per session from Debian packages, which
the fixture installs with apt-get when they are missing (root, Debian); if it cannot start, the
tests fail, they do not skip. Slurm is never mocked: jobs go through sbatch, srun, slurmctld
and slurmd, and their states are read back from squeue.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from astropy.table import Table

from .conftest import ROOT, TINY

PROFILE = ROOT / "profiles" / "slurm"
OVERLAY = ROOT / "tests" / "slurm"
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.")
# Outputs that must be bit for bit those of a local run; figures (PDF dates) and logs are not.
COMPARED = (
    "sky/*",
    "stamps/*",
    "blends/*",
    "baseline/*",
    "tables/*.csv",
    "predictions/*",
    "models/*/history.csv",
    "output_catalog.csv",
    "metrics.csv",
)


def load_onenode():
    """The tools/slurm/onenode.py module (tools/ is not a package)."""
    path = ROOT / "tools" / "slurm" / "onenode.py"
    spec = importlib.util.spec_from_file_location("onenode", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["onenode"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


onenode = load_onenode()


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node cluster for the session (installed and started here, then stopped)."""
    with contextlib.ExitStack() as stack:
        try:
            layout = stack.enter_context(onenode.running_cluster())
        except Exception as exc:  # the tests that need Slurm fail, with the reason
            pytest.fail(f"could not start the one-node Slurm cluster: {exc}", pytrace=False)
        yield layout
    shutil.rmtree(layout.root, ignore_errors=True)


def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    """The snakemake command for ``workdir`` (run from the repository root, as users do)."""
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir)]


def run_snakemake(layout, workdir: Path, *args: str, timeout: int = 900):
    """Run snakemake (from the repository root) against the cluster; returns the result."""
    cmd = snakemake_cmd(workdir) + list(args)
    env = onenode.client_env(layout)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def workdir_with(path: Path, config: dict) -> Path:
    """A working directory whose config/config.yaml holds ``config``."""
    (path / "config").mkdir(parents=True, exist_ok=True)
    (path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def tiny() -> dict:
    """The tiny test config, as written in tests/data/tiny.yaml."""
    return yaml.safe_load(TINY.read_text())


def submissions(output: str) -> list[tuple[str, str, Path]]:
    """(rule, SLURM job id, job log) of every sbatch submission the executor reported."""
    found = []
    for job_id, log in SUBMITTED.findall(output):
        rule = next(part[5:] for part in Path(log).parts if part.startswith("rule_"))
        found.append((rule, job_id, Path(log)))
    return found


def squeue_states(layout, job_ids) -> dict[str, tuple[str, str]]:
    """Job id -> (state, partition), as the controller reports them (finished jobs included)."""
    result = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i|%T|%P", "-j", ",".join(job_ids)],
        capture_output=True,
        text=True,
        env=onenode.client_env(layout),
        check=True,
    )
    rows = (line.split("|") for line in result.stdout.split())
    return {job: (state, partition) for job, state, partition in rows}


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def digests(results: Path) -> dict[str, str]:
    """SHA-256 of every compared output under ``results``, by relative path; for each
    model.keras, that of its weights (the archive also holds a save date)."""
    found = {
        str(path.relative_to(results)): sha256(path.read_bytes())
        for pattern in COMPARED
        for path in results.glob(pattern)
        if path.is_file()
    }
    for model in results.glob("models/*/model.keras"):
        with zipfile.ZipFile(model) as archive:
            weights = archive.read("model.weights.h5")
        found[f"{model.relative_to(results)}:model.weights.h5"] = sha256(weights)
    return found


def gpu_rules(profile: dict) -> set[str]:
    """Rules that a profile sends to the gpu partition."""
    return {
        rule
        for rule, res in profile.get("set-resources", {}).items()
        if res.get("slurm_partition") == "gpu"
    }


def read_yaml(path: Path) -> dict:
    """A YAML file as a dict."""
    return yaml.safe_load(path.read_text())


def tail(result: subprocess.CompletedProcess, chars: int = 4000) -> str:
    """The end of a command's output, for assertion messages."""
    return result.stdout[-chars:] + result.stderr[-chars:]


# ---------------------------------------------------------------- no cluster needed


def test_overlay_changes_only_site_values():
    """The test overlay restates the production profile's resources with local values only:
    same rules, resource names a subset (no account, no -L sps), same GPU rules."""
    prod, overlay = read_yaml(PROFILE / "config.yaml"), read_yaml(OVERLAY / "config.yaml")
    assert prod["executor"] == "slurm" and prod["retries"] >= 1
    assert set(overlay["default-resources"]) <= set(prod["default-resources"]) - {
        "slurm_account",
        "slurm_extra",
    }
    assert set(overlay["set-resources"]) == set(prod["set-resources"])
    for rule, res in prod["set-resources"].items():
        assert set(overlay["set-resources"][rule]) <= set(res), rule
        assert "attempt" in str(res["runtime"]), f"{rule}: a retry must ask for more time"
    assert gpu_rules(prod) == gpu_rules(overlay) == {"train_model", "predict", "predict_validation"}
    assert set(overlay["set-threads"]) == set(prod["set-threads"])
    assert "attempt" in str(prod["default-resources"]["runtime"])


def test_cluster_config_declares_partitions_and_fake_gpu(tmp_path):
    layout = onenode.Layout(tmp_path, conf_dir=tmp_path / "etc")
    node = onenode.Node("n1", cpus=4, gpus=2, memory_mb=1000, ctld_port=7001, slurmd_port=7002)
    conf = onenode.slurm_conf_text(layout, node)
    assert onenode.written_for(conf, layout)
    assert onenode.conf_value(conf, "SlurmctldPort") == "7001"
    assert onenode.conf_value(conf, "AccountingStorageType") == "accounting_storage/none"
    assert int(onenode.conf_value(conf, "MinJobAge")) >= 300
    assert "PartitionName=cpu Nodes=n1 Default=YES" in conf
    assert "PartitionName=gpu Nodes=n1" in conf
    assert "CPUs=4" in conf and "Gres=gpu:fake:2" in conf
    gres = onenode.gres_conf_text(layout, node)
    for index in (0, 1):
        assert f"Name=gpu Type=fake File={layout.fake_gpu(index)}\n" in gres
    assert onenode.memory_for_jobs_mb("MemTotal:  2048000 kB\n", 0.5) == 1000


# ---------------------------------------------------------------- on the cluster


@pytest.mark.slurm
def test_tiny_workflow_through_slurm_equals_local_run(
    slurm_cluster, training_timeout_run, tiny_runs, tmp_path
):
    """Every job goes through sbatch (its SLURM job id in the executor's log and in squeue);
    the GPU rules run on the gpu partition with CUDA_VISIBLE_DEVICES set (both of the node's
    GPUs for the model whose training.gpus is 2), the others on cpu without; the outputs are
    bit for bit those of a local run: data stages, predictions and model weights alike
    (training.deterministic: true, the same thread counts).

    The local reference is the session's tiny run (``tiny_runs``, --cores 2), which goes on
    while the cluster runs, as does the training-timeout scenario (``training_timeout_run``,
    checked by the next test): the cluster run mostly waits on status checks, the scenario on
    Slurm's time limit. Results do not depend on what shares the CPUs."""
    config = tiny()
    # one model asks for both of the node's GPUs (training.gpus: 2, --gpus=fake:2); no
    # GPU that TensorFlow can use: it trains on the CPU, as the local run does
    config["models"]["blend2flux"]["training"] = {"gpus": 2}
    cluster = workdir_with(tmp_path / "slurm", config)
    result = run_snakemake(
        slurm_cluster, cluster, "--profile", str(PROFILE), "--profile", str(OVERLAY)
    )
    local_run = tiny_runs["tiny"].result()
    local = tiny_runs["tiny"].workdir
    assert local_run.returncode == 0, local_run.stdout[-4000:]
    assert result.returncode == 0, tail(result)
    output = result.stdout + result.stderr

    jobs = submissions(output)
    rules_run = set(re.findall(r"^rule (\w+):", output, re.M))
    assert rules_run and {rule for rule, _, _ in jobs} == rules_run, output[-4000:]
    states = squeue_states(slurm_cluster, [job for _, job, _ in jobs])
    expected_gpu = gpu_rules(read_yaml(OVERLAY / "config.yaml"))
    for rule, job, log in jobs:
        assert log.name == f"{job}.log" and log.exists(), log
        env = onenode.read_env(slurm_cluster.task_env(job, "0"))
        assert env["SLURM_JOB_ID"] == job
        partition = "gpu" if rule in expected_gpu else "cpu"
        assert states[job] == ("COMPLETED", partition), (rule, job, states[job])
        assert env["SLURM_JOB_PARTITION"] == partition, rule
        if rule == "train_model" and log.parent.name == f"{config['dataset']}_blend2flux":
            assert env.get("CUDA_VISIBLE_DEVICES") == "0,1", (rule, log, env)
        elif partition == "gpu":
            assert env.get("CUDA_VISIBLE_DEVICES") in ("0", "1"), (rule, env)
        else:
            assert "CUDA_VISIBLE_DEVICES" not in env, rule
    assert "train_model" in rules_run

    res = f"results/{config['dataset']}"
    want, got = digests(local / res), digests(cluster / res)
    assert any(name.startswith("blends/") for name in want)
    assert any(name.endswith("model.weights.h5") for name in want)
    assert sorted(got) == sorted(want)
    differing = [name for name in want if want[name] != got[name]]
    assert not differing, f"SLURM outputs differ from the local run: {differing}"

    # the deblend target through Slurm as well: one job per tile (tests/data/tiny.yaml: 2 x 2),
    # on the cpu partition, merged with every object of the field once
    result = run_snakemake(
        slurm_cluster, cluster, "deblend", "--profile", str(PROFILE), "--profile", str(OVERLAY)
    )
    assert result.returncode == 0, tail(result)
    jobs = submissions(result.stdout + result.stderr)
    tiles = [job for rule, job, _ in jobs if rule == "deblend_tile"]
    assert len(tiles) == 4, result.stdout[-3000:]
    states = squeue_states(slurm_cluster, tiles)
    assert all(states[job] == ("COMPLETED", "cpu") for job in tiles), states
    deblended = pd.read_csv(cluster / res / "deblend" / "deblended.csv")
    truth = Table.read(cluster / res / "deblend" / "field" / "catalog.fits")
    assert sorted(deblended["id"]) == sorted(truth["id"])


SLOW_NET = ROOT / "tests" / "slurm" / "slow_net.py"
FAULT_EPOCHS = 20
# Seconds a batch sleeps in the first attempt: 8 batches an epoch, so at least 160 s of
# training, more than Slurm's kill at 60-90 s of a 1-minute limit on any machine.
SLOW_SECONDS = 1.0


def fault_config(delay_file: Path) -> dict:
    """The tiny config with one model, slow_net, trained FAULT_EPOCHS epochs without early
    stopping; its speed is set by ``delay_file``."""
    config = tiny()
    config["models"] = {
        "slow": {
            "architecture": "slow_net",
            "module": str(SLOW_NET),
            "params": {"delay_file": str(delay_file)},
        }
    }
    never = 10 * FAULT_EPOCHS
    config["training"].update(epochs=FAULT_EPOCHS, patience=never, lr_patience=never)
    return config


def timeout_profile(path: Path) -> Path:
    """The test overlay with a 1-minute limit on the first training attempt (10 after).
    Status checks start at 8 s: the executor then checks at 8, 26, 54, 92, 140 s, ... (each
    idle round waits 10 s more), so the TIMEOUT (at 60-90 s) is seen at 92 s."""
    overlay = read_yaml(OVERLAY / "config.yaml")
    overlay["set-resources"]["train_model"]["runtime"] = "1 if attempt == 1 else 10"
    overlay["slurm-init-seconds-before-status-checks"] = 8
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    return path


def epochs_logged(log_text: str) -> list[int]:
    """The epoch numbers Keras printed ("Epoch k/N"), in order."""
    return [int(k) for k in re.findall(r"^Epoch (\d+)/\d+", log_text, re.M)]


def job_states(layout, comment_prefix: str) -> dict[str, str]:
    """Job id -> state of the jobs whose comment (the executor's rule tag) has this prefix."""
    result = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i|%T|%k"],
        capture_output=True,
        text=True,
        env=onenode.client_env(layout),
    )
    rows = (line.split("|", 2) for line in result.stdout.splitlines() if line.count("|") == 2)
    return {job: state for job, state, comment in rows if comment.startswith(comment_prefix)}


def wait_for_state(layout, comment_prefix: str, state: str, proc, timeout_s: float) -> str:
    """Poll squeue until a job with this comment prefix is in ``state``; return its id
    ('' when ``proc`` ended or the time ran out first)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        found = [job for job, s in job_states(layout, comment_prefix).items() if s == state]
        if found:
            return found[0]
        time.sleep(1)
    return ""


class Background:
    """A function run in a thread from now on; :meth:`result` waits for it and gives what it
    returned (or raises what it raised)."""

    def __init__(self, function):
        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self._thread.start()

    def _run(self, function):
        try:
            self._value = function()
        except BaseException as exc:  # raised in the test that waits for it
            self._error = exc

    def result(self, timeout: float = 1500):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"still running after {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value


def training_timeout(layout, tmp_path: Path) -> SimpleNamespace:
    """The training-timeout scenario (see the test below), run on the cluster; what the test
    checks. The first training attempt is made slow through slow_net's delay file; once
    squeue shows the TIMEOUT, the delay file is cleared so that the retry takes seconds. The
    data stages run locally first; the SLURM run builds the model."""
    delay = tmp_path / "delay_seconds"
    delay.write_text(str(SLOW_SECONDS))
    config = fault_config(delay)
    work = workdir_with(tmp_path / "work", config)
    res = work / "results" / config["dataset"]
    found = SimpleNamespace(res=res, work=work, timed_out="", first_epochs=[], proc=None)
    blends = [f"results/{config['dataset']}/blends/{s}.h5" for s in ("train", "val", "test")]
    found.prepared = subprocess.run(
        snakemake_cmd(work) + ["--cores", "2", "--", *blends],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if found.prepared.returncode != 0:
        return found

    profile = timeout_profile(tmp_path / "timeout_profile")
    found.model = f"results/{config['dataset']}/models/slow/model.keras"
    out_path = tmp_path / "snakemake.out"
    with open(out_path, "w") as out:
        proc = found.proc = subprocess.Popen(
            snakemake_cmd(work)
            + ["--profile", str(PROFILE), "--profile", str(profile), found.model],
            cwd=ROOT,
            env=onenode.client_env(layout),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            found.timed_out = wait_for_state(layout, "rule_train_model", "TIMEOUT", proc, 300)
            # What the first attempt printed, before Snakemake starts the retry (which
            # begins a new log): the epoch it was in when Slurm killed it.
            found.train_log = res / "logs" / "train_model" / "slow.log"
            if found.timed_out:
                found.first_epochs = epochs_logged(found.train_log.read_text())
            delay.write_text("0")
            proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    found.output = out_path.read_text()
    return found


@pytest.fixture(scope="module")
def training_timeout_run(slurm_cluster, tmp_path_factory) -> Background:
    """The training-timeout scenario, started in the background when first asked for (the
    cluster test above asks for it, so that both wait on Slurm at the same time)."""
    run = Background(lambda: training_timeout(slurm_cluster, tmp_path_factory.mktemp("timeout")))
    yield run
    run.result()  # never outlive the cluster


@pytest.mark.slurm
def test_training_timeout_resumes_from_saved_epoch(slurm_cluster, training_timeout_run):
    """A training job that outlives its SLURM time limit gets TIMEOUT from Slurm; Snakemake
    retries it with more runtime, the retry continues from the epoch the first attempt saved
    (BackupAndRestore in results/<dataset>/resume/<model>), and the run finishes
    (:func:`training_timeout`)."""
    found = training_timeout_run.result()
    assert found.prepared.returncode == 0, tail(found.prepared)
    proc, output, timed_out = found.proc, found.output, found.timed_out
    res, train_log, first_epochs = found.res, found.train_log, found.first_epochs
    assert timed_out, "the training job did not get TIMEOUT:\n" + output[-4000:]
    assert proc.returncode == 0, output[-4000:]

    train_jobs = [(job, log) for rule, job, log in submissions(output) if rule == "train_model"]
    assert [job for job, _ in train_jobs][:1] == [timed_out] and len(train_jobs) == 2, train_jobs
    (first, first_log), (second, _) = train_jobs
    states = squeue_states(slurm_cluster, [first, second])
    assert states == {first: ("TIMEOUT", "gpu"), second: ("COMPLETED", "gpu")}, states
    assert f"SLURM-job '{first}' failed, SLURM status is: 'TIMEOUT'" in output
    assert "DUE TO TIME LIMIT" in first_log.read_text()

    retry_epochs = epochs_logged(train_log.read_text())
    reached, resumed = first_epochs[-1], retry_epochs[0]
    print(
        f"\nSLURM jobs {first} TIMEOUT, {second} COMPLETED; the first attempt was in epoch "
        f"{reached} when killed, the retry resumed at epoch {resumed} of {FAULT_EPOCHS}"
    )
    assert first_epochs == list(range(1, reached + 1)), first_epochs
    assert 1 < resumed and resumed in (reached, reached + 1), (first_epochs, retry_epochs)
    assert retry_epochs == list(range(resumed, FAULT_EPOCHS + 1)), retry_epochs
    history = pd.read_csv(res / "models" / "slow" / "history.csv")
    assert list(history["epoch"]) == list(range(FAULT_EPOCHS))
    assert not (res / "resume" / "slow").exists(), "resume state left after success"
    assert (found.work / found.model).stat().st_size > 0
