"""The suite's remembered dlib answers are dlib's own: same input, same answer, asked once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chalicelib.core.config import Policy
from chalicelib.core.models import NormalisedImage
from chalicelib.engines import local
from chalicelib.engines.local import LocalEngine
from tests.fakes import InMemoryFaceStore
from tests.remembered_models import Remembered


def test_a_repeated_photo_gets_dlibs_answer_without_asking_dlib_again(
    photo: Callable[[str], NormalisedImage],
) -> None:
    models = local._Models.get()
    assert isinstance(models.embedder, Remembered)  # the suite's conftest wrapped them
    engine = LocalEngine(InMemoryFaceStore(), Policy())
    [face] = engine.detect(photo("obama2.jpg"))
    first = engine.embed(face)
    asked = models.embedder.calls
    again = engine.embed(engine.detect(photo("obama2.jpg"))[0])
    assert models.embedder.calls == asked  # answered from memory
    np.testing.assert_array_equal(first, again)
    # ...and the remembered answer is the one dlib gives when asked afresh.
    fresh = np.asarray(models.embedder._call(face.chip), dtype=np.float32)
    np.testing.assert_array_equal(first, fresh)
