"""Send a rule's output, Python and native libraries alike, to its log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from blendphot.errors import user_error

TF_LOG_LEVEL = "1"
"""TensorFlow's native log level in the rules (``TF_CPP_MIN_LOG_LEVEL``): 1 hides its INFO
lines, warnings and errors still show. The INFO lines it prints at start-up are harmless
notes: oneDNN's (its kernels may round differently: the deterministic runs of this
workflow are compared on one machine), the CPU instructions the wheel was not built for, and
the allocator's memory patch. Set ``TF_CPP_MIN_LOG_LEVEL=0`` in the environment to see
them."""


def quiet_tensorflow_startup() -> None:
    """Hide TensorFlow's harmless native INFO lines (:data:`TF_LOG_LEVEL`) unless the
    environment sets a level itself; before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)


@contextlib.contextmanager
def redirect_to_log(path: str | Path | None) -> Iterator[None]:
    """Redirect file descriptors 1 and 2 (and Python logging) to ``path`` for the block."""
    if path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        root = logging.getLogger()
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        except BaseException as exc:
            message = user_error(exc)
            if message is None:
                logging.getLogger("blendphot").exception("rule failed")
            else:  # a bad input or a full disk: one line, no traceback
                logging.getLogger("blendphot").error("error: %s", message)
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            root.removeHandler(handler)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
