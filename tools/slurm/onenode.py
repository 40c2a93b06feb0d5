"""A real one-node Slurm cluster from Debian packages, for tests and for trying the profile.

    python tools/slurm/onenode.py start [--dir DIR]   # prints the state directory
    python tools/slurm/onenode.py stop --dir DIR

The cluster's files live in one state directory: a private munged (its own key and socket, so
the host's munge is left alone), the spool and state folders, the logs and the pid files.
slurm.conf and gres.conf go to /etc/slurm, where every Slurm command looks: the jobs' own
``srun`` (run by the executor plugin's job step) drops SLURM_CONF from its environment, so a
configuration elsewhere would not reach it. A slurm.conf there that this script did not write
is never replaced. Ports are picked free at start.

The node has two partitions, ``cpu`` (default) and ``gpu``, and two fake GPUs: character
devices declared as GRES ``gpu:fake:2``, enough for Slurm to set CUDA_VISIBLE_DEVICES in the
jobs that ask for one. It offers CPU_FACTOR times the machine's CPUs (SlurmdParameters=
config_overrides, no CPU binding): a workflow's short jobs mostly start Python and wait for
the executor's status checks, so letting them overlap shortens a test run. A TaskProlog
records the environment of every task in ``task_env/<job id>.<step>.env``, so a test can see
what a job's processes got. Time limits are enforced as given (OverTimeLimit=0; Slurm checks
them about every 30 s) and a timed-out job gets KillWait seconds between SIGTERM and SIGKILL.

Needs root on Debian 12 (Slurm 22.05); ``start`` installs slurmctld, slurmd, slurm-client and
munge with apt-get when they are missing. ``stop`` kills the daemons by the pids in their pid
files, and only those, then removes the configuration it wrote.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
COMMANDS = ("slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "munged", "mungekey")
PARTITIONS = ("cpu", "gpu")
GPU_TYPE = "fake"
GPUS = 2
CPU_FACTOR = 2
KILL_WAIT_S = 5
# squeue shows finished jobs this long: the executor's status command reads them, and so do
# the tests, which check the states of all of a run's jobs (minutes long) once it ends
MIN_JOB_AGE_S = 1800
MARKER = "# Written by tools/slurm/onenode.py"
DAEMONS = ("slurmd", "slurmctld", "munged")


@dataclass(frozen=True)
class Layout:
    """Where one cluster keeps its files: state under ``root``, configs in ``conf_dir``."""

    root: Path
    conf_dir: Path = Path("/etc/slurm")

    @property
    def conf(self) -> Path:
        return self.conf_dir / "slurm.conf"

    @property
    def gres_conf(self) -> Path:
        return self.conf_dir / "gres.conf"

    @property
    def munge_dir(self) -> Path:
        return self.root / "munge"

    @property
    def munge_socket(self) -> Path:
        return self.munge_dir / "munge.socket"

    @property
    def munge_key(self) -> Path:
        return self.munge_dir / "munge.key"

    def fake_gpu(self, index: int) -> Path:
        """The character device standing for GPU ``index``."""
        return self.root / f"fakegpu{index}"

    @property
    def task_prolog(self) -> Path:
        return self.root / "task_prolog.sh"

    @property
    def task_env_dir(self) -> Path:
        return self.root / "task_env"

    @property
    def info(self) -> Path:
        return self.root / "cluster.json"

    def task_env(self, job_id: str, step: str = "0") -> Path:
        """The environment the TaskProlog recorded for one step ("batch", "0") of a job."""
        return self.task_env_dir / f"{job_id}.{step}.env"

    def pid_file(self, daemon: str) -> Path:
        """The pid file of ``daemon`` (munged, slurmctld or slurmd)."""
        return self.root / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        """The log file of ``daemon``."""
        return self.root / "logs" / f"{daemon}.log"


@dataclass(frozen=True)
class Node:
    """The one node: its name, CPU count, memory for jobs, and the daemons' ports."""

    name: str
    cpus: int
    gpus: int
    memory_mb: int
    ctld_port: int
    slurmd_port: int


def slurm_conf_text(layout: Layout, node: Node) -> str:
    """slurm.conf for a one-node cluster with partitions cpu (default) and gpu."""
    root = layout.root
    lines = [
        marker_line(layout),
        "ClusterName=blendphot",
        f"SlurmctldHost={node.name}(127.0.0.1)",
        f"SlurmctldPort={node.ctld_port}",
        f"SlurmdPort={node.slurmd_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={layout.munge_socket}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",  # more CPUs offered than exist: nothing to bind to
        "SlurmdParameters=config_overrides",
        f"TaskProlog={layout.task_prolog}",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "DefMemPerCPU=1000",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none",
        f"MinJobAge={MIN_JOB_AGE_S}",
        "OverTimeLimit=0",
        f"KillWait={KILL_WAIT_S}",
        "ReturnToService=2",
        "MailProg=/bin/true",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={layout.pid_file('slurmctld')}",
        f"SlurmdPidFile={layout.pid_file('slurmd')}",
        f"SlurmctldLogFile={layout.log_file('slurmctld')}",
        f"SlurmdLogFile={layout.log_file('slurmd')}",
        "GresTypes=gpu",
        f"NodeName={node.name} NodeAddr=127.0.0.1 CPUs={node.cpus} "
        f"RealMemory={node.memory_mb} Gres=gpu:{GPU_TYPE}:{node.gpus} State=UNKNOWN",
        f"PartitionName={PARTITIONS[0]} Nodes={node.name} Default=YES MaxTime=INFINITE State=UP",
        f"PartitionName={PARTITIONS[1]} Nodes={node.name} MaxTime=INFINITE State=UP",
    ]
    return "\n".join(lines) + "\n"


def gres_conf_text(layout: Layout, node: Node) -> str:
    """gres.conf declaring the fake GPUs (character devices, as Slurm requires)."""
    devices = "".join(
        f"NodeName={node.name} Name=gpu Type={GPU_TYPE} File={layout.fake_gpu(i)}\n"
        for i in range(node.gpus)
    )
    return f"{marker_line(layout)}\nAutoDetect=off\n{devices}"


def task_prolog_text(layout: Layout) -> str:
    """A TaskProlog that records each task's environment (what the job's processes see)."""
    return (
        "#!/bin/sh\n"
        "# Records the environment of every task: <job id>.<step id or batch>.env\n"
        f'env | sort > "{layout.task_env_dir}/$SLURM_JOB_ID.${{SLURM_STEP_ID:-batch}}.env"\n'
    )


def marker_line(layout: Layout) -> str:
    """The first line of the configs we write: names the script and the state directory."""
    return f"{MARKER}; state in {layout.root}"


def written_for(text: str, layout: Layout) -> bool:
    """Whether config ``text`` was written by this script for this layout's cluster."""
    return text.split("\n", 1)[0] == marker_line(layout)


def conf_value(text: str, key: str) -> str | None:
    """The value of ``key`` in slurm.conf text (first ``key=value`` line), or None."""
    for line in text.splitlines():
        name, _, value = line.strip().partition("=")
        if name.lower() == key.lower() and value:
            return value.split()[0]
    return None


def read_env(path: Path) -> dict[str, str]:
    """An environment recorded by the TaskProlog, as a dict (multi-line values truncated)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return dict(pairs)


def memory_for_jobs_mb(meminfo: str, fraction: float = 0.85) -> int:
    """``fraction`` of MemTotal (from /proc/meminfo text) in MB: what the node offers jobs."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(int(line.split()[1]) * fraction / 1024)
    raise ValueError("no MemTotal line in /proc/meminfo")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def this_node() -> Node:
    """The node description of this machine, with two free ports."""
    return Node(
        name=socket.gethostname().split(".")[0],
        cpus=CPU_FACTOR * len(os.sched_getaffinity(0)),
        gpus=GPUS,
        memory_mb=memory_for_jobs_mb(Path("/proc/meminfo").read_text()),
        ctld_port=free_port(),
        slurmd_port=free_port(),
    )


def find(name: str) -> str | None:
    """Full path of a command, sbin folders included (they are not always on PATH)."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def missing_commands() -> list[str]:
    """The Slurm and munge commands that cannot be found."""
    return [cmd for cmd in COMMANDS if find(cmd) is None]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, raising with its output when it fails."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result


def install_packages() -> None:
    """Install the Debian packages of Slurm and munge (root, apt-get) when commands miss."""
    missing = missing_commands()
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"Slurm commands missing ({', '.join(missing)}) and no way to install them: "
            f"run as root on Debian: apt-get install {' '.join(PACKAGES)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES], env=env)
    if missing_commands():
        raise RuntimeError(f"still missing after apt-get: {', '.join(missing_commands())}")


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, or None when the file is missing or empty."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def alive(pid: int | None) -> bool:
    """Whether a process with this pid exists."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_conf_free(conf: Path) -> None:
    """Raise unless slurm.conf is absent, or ours with its controller gone (stale)."""
    if not conf.exists():
        return
    text = conf.read_text()
    if not text.startswith(MARKER):
        raise RuntimeError(f"{conf} was not written by {__file__}: not replacing it")
    pid_file = conf_value(text, "SlurmctldPidFile")
    if pid_file and alive(read_pid(Path(pid_file))):
        raise RuntimeError(
            f"a one-node cluster already runs ({conf}, pid file {pid_file}); "
            f"stop it first: python {__file__} stop --dir {Path(pid_file).parent}"
        )


def write_files(layout: Layout, node: Node) -> None:
    """Create the state directory (fake GPU, munge key, TaskProlog) and the two configs."""
    for sub in ("state", "spool", "logs", "task_env"):
        (layout.root / sub).mkdir(parents=True, exist_ok=True)
    layout.root.chmod(0o755)  # munged wants its socket's folders open to all
    layout.munge_dir.mkdir(mode=0o755, exist_ok=True)
    for index in range(node.gpus):
        device = layout.fake_gpu(index)
        if not device.exists():
            os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    if not layout.munge_key.exists():
        run([find("mungekey"), "--create", f"--keyfile={layout.munge_key}"])
    layout.task_prolog.write_text(task_prolog_text(layout))
    layout.task_prolog.chmod(0o755)
    layout.info.write_text(json.dumps({"conf": str(layout.conf), **asdict(node)}, indent=1))
    layout.conf_dir.mkdir(parents=True, exist_ok=True)
    layout.conf.write_text(slurm_conf_text(layout, node))
    layout.gres_conf.write_text(gres_conf_text(layout, node))


def start_daemons(layout: Layout, node: Node) -> None:
    """Start munged, slurmctld and slurmd (each daemonises and writes its pid file)."""
    run(
        [
            find("munged"),
            f"--socket={layout.munge_socket}",
            f"--key-file={layout.munge_key}",
            f"--pid-file={layout.pid_file('munged')}",
            f"--log-file={layout.log_file('munged')}",
            f"--seed-file={layout.munge_dir / 'munged.seed'}",
        ]
    )
    env = client_env(layout)
    run([find("slurmctld"), "-f", str(layout.conf)], env=env)
    run([find("slurmd"), "-f", str(layout.conf), "-N", node.name], env=env)


def client_env(layout: Layout) -> dict[str, str]:
    """The environment of a Slurm client (sbatch, squeue) talking to this cluster."""
    return {**os.environ, "SLURM_CONF": str(layout.conf)}


def node_state(layout: Layout) -> str:
    """The node's state as sinfo reports it ('' when the controller does not answer)."""
    result = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=client_env(layout)
    )
    words = result.stdout.split()
    return words[0] if result.returncode == 0 and words else ""


def log_tails(layout: Layout, chars: int = 1500) -> str:
    """The ends of the daemons' logs, for error messages."""
    return "".join(
        f"\n--- {path}\n{path.read_text(errors='replace')[-chars:]}"
        for path in sorted((layout.root / "logs").glob("*.log"))
    )


def wait_until_idle(layout: Layout, timeout_s: float = 60) -> None:
    """Wait until the node is idle, or raise with the daemons' log tails."""
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        state = node_state(layout)
        if state == "idle":
            return
        time.sleep(0.5)
    message = f"Slurm node not idle after {timeout_s} s (state {state!r})"
    raise RuntimeError(message + log_tails(layout))


def start(root: Path | None = None, conf_dir: Path = Path("/etc/slurm")) -> Layout:
    """Install if needed, configure and start a one-node cluster; return its layout."""
    install_packages()
    check_conf_free(conf_dir / "slurm.conf")
    root = Path(tempfile.mkdtemp(prefix="blendphot-slurm-") if root is None else root)
    layout = Layout(root.resolve(), conf_dir)
    node = this_node()
    write_files(layout, node)
    try:
        start_daemons(layout, node)
        wait_until_idle(layout)
    except Exception:
        stop(layout)
        raise
    return layout


def stop_pids(pids: list[int], timeout_s: float = 15) -> None:
    """SIGTERM all ``pids`` at once, then SIGKILL those still there after ``timeout_s``."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in filter(alive, pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop(layout: Layout) -> list[int]:
    """Stop the daemons by the pids in their pid files, remove our configs; return the pids."""
    pids = [read_pid(layout.pid_file(daemon)) for daemon in DAEMONS]
    stopped = [pid for pid in pids if alive(pid)]
    stop_pids(stopped)
    for conf in (layout.conf, layout.gres_conf):
        if conf.exists() and written_for(conf.read_text(), layout):
            conf.unlink()
    return stopped


@contextlib.contextmanager
def exclusive(lock_path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (waiting up to ``timeout_s``) for the block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{lock_path} still held after {timeout_s} s: another one-node "
                        "cluster session runs here"
                    ) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def running_cluster(root: Path | None = None, wait_s: float = 900) -> Iterator[Layout]:
    """A started cluster for the block, stopped after it; one such block at a time per host."""
    with exclusive(Path(tempfile.gettempdir()) / "blendphot-onenode-slurm.lock", wait_s):
        layout = start(root)
        try:
            yield layout
        finally:
            stop(layout)


def main(argv: list[str] | None = None) -> int:
    """Command line: start or stop a cluster."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, help="state directory (start: a new temp dir)")
    args = parser.parse_args(argv)
    if args.action == "start":
        layout = start(args.dir)
        print(layout.root)
        print(f"# stop with: python {__file__} stop --dir {layout.root}", file=sys.stderr)
        return 0
    if args.dir is None:
        parser.error("stop needs --dir")
    stopped = stop(Layout(args.dir.resolve()))
    print(f"stopped pids: {' '.join(map(str, stopped)) or 'none'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
