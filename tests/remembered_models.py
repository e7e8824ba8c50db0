"""The local engine's models answering each input once per test process: the suite embeds
the same photos hundreds of times (YuNet + SFace: about 50 ms a scan; dlib: 0.1–0.3 s).

``remember_answers`` wraps the loaded models (the real ones: every first answer comes from
the model) so an input already seen gets the answer the model gave it. The engine's code
runs unchanged — its scaling, cropping, alignment, locking and thresholds — only the
networks' repeated work is skipped. Inputs are numpy arrays, keyed by their bytes, shape
and the call's other arguments (onnxruntime's feeds: by name).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _key(*args: Any) -> tuple[Any, ...]:
    parts: list[Any] = []
    for arg in args:
        if hasattr(arg, "tobytes") and hasattr(arg, "shape"):  # a numpy array of pixels
            parts.append((arg.shape, str(arg.dtype), hashlib.blake2b(arg.tobytes(), digest_size=16).digest()))
        elif isinstance(arg, dict):  # onnxruntime's feeds
            parts.append(tuple((name, *_key(value)) for name, value in sorted(arg.items())))
        elif hasattr(arg, "left") and hasattr(arg, "bottom"):  # a dlib.rectangle
            parts.append((arg.left(), arg.top(), arg.right(), arg.bottom()))
        else:
            parts.append(arg)
    return tuple(parts)


class Remembered:
    """A callable model (or one method of it) that answers a repeated input from memory."""

    def __init__(self, model: Any, method: str | None = None) -> None:
        self.model = model
        self._call = getattr(model, method) if method else model
        self._answers: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        self.calls = 0  # how many times dlib itself was asked
        if method:
            setattr(self, method, self.__call__)

    def __call__(self, *args: Any) -> Any:
        key = _key(*args)
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        answer = self._call(*args)
        with self._lock:
            self.calls += 1
            self._answers[key] = answer
        return answer


def remember_answers() -> None:
    """Load the local engine's models once for this process and wrap them (idempotent)."""
    from chalicelib.engines import dlib_model, yunet_sface

    networks = yunet_sface.Networks.get()
    # Not YuNet: hashing its 4.9 MB input costs most of what running it does (7 ms).
    if not isinstance(networks.recognizer, Remembered):
        networks.recognizer = Remembered(networks.recognizer, "run")
    models = dlib_model._Models.get()
    if isinstance(models.detector, Remembered):
        return
    models.detector = Remembered(models.detector)
    models.landmarks = Remembered(models.landmarks)
    models.embedder = Remembered(models.embedder, "compute_face_descriptor")


@contextmanager
def the_models_themselves() -> Iterator[None]:
    """The networks' own answers for the duration (benchmarks time the models, not a
    lookup); then the remembering ones again."""
    from chalicelib.engines import dlib_model, yunet_sface

    holders = [
        (dlib_model._Models.get(), ("detector", "landmarks", "embedder")),
        (yunet_sface.Networks.get(), ("detector", "recognizer")),
    ]
    wrapped = [(holder, name, getattr(holder, name)) for holder, names in holders for name in names]
    for holder, name, model in wrapped:
        if isinstance(model, Remembered):
            setattr(holder, name, model.model)
    try:
        yield
    finally:
        for holder, name, model in wrapped:
            setattr(holder, name, model)
