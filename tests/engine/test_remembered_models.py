"""The suite's remembered answers are the models' own: same input, same answer, asked once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chalicelib.core.config import Policy
from chalicelib.core.models import NormalisedImage
from chalicelib.engines import dlib_model, yunet_sface
from chalicelib.engines.dlib_model import DlibModel
from chalicelib.engines.local import LocalEngine
from chalicelib.engines.sface_model import aligned
from tests.fakes import InMemoryFaceStore
from tests.remembered_models import Remembered


def test_a_repeated_photo_gets_dlibs_answer_without_asking_dlib_again(
    photo: Callable[[str], NormalisedImage],
) -> None:
    models = dlib_model._Models.get()
    assert isinstance(models.embedder, Remembered)  # the suite's conftest wrapped them
    engine = LocalEngine(InMemoryFaceStore(), Policy(), model=DlibModel())
    [face] = engine.detect(photo("obama2.jpg"))
    first = engine.embed(face)
    asked = models.embedder.calls
    again = engine.embed(engine.detect(photo("obama2.jpg"))[0])
    assert models.embedder.calls == asked  # answered from memory
    np.testing.assert_array_equal(first, again)
    # ...and the remembered answer is the one dlib gives when asked afresh.
    fresh = np.asarray(models.embedder._call(face.chip), dtype=np.float32)
    np.testing.assert_array_equal(first, fresh)


def test_a_repeated_photo_gets_sfaces_answer_without_running_it_again(
    photo: Callable[[str], NormalisedImage],
) -> None:
    networks = yunet_sface.Networks.get()
    assert isinstance(networks.recognizer, Remembered)
    engine = LocalEngine(InMemoryFaceStore(), Policy())
    [face] = engine.detect(photo("obama3.jpg"))
    first = engine.embed(face)
    asked = networks.recognizer.calls
    again = engine.embed(engine.detect(photo("obama3.jpg"))[0])
    assert networks.recognizer.calls == asked
    np.testing.assert_array_equal(first, again)
    fresh = yunet_sface.embed(aligned(face), _unremembered(networks))
    np.testing.assert_array_equal(first, fresh)


def _unremembered(networks: yunet_sface.Networks) -> yunet_sface.Networks:
    plain = object.__new__(yunet_sface.Networks)
    plain.recognizer = networks.recognizer.model
    return plain
