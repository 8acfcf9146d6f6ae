"""Architectures: the model contract (uint8-range input, softmax output) and sizes."""

import numpy as np
import pytest

from digitrec.modeling.architectures import ARCHITECTURES, build_model


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_contract(architecture):
    model = build_model(architecture, seed=1)
    x = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28, 1)).astype("float32")
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (4, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_same_seed_same_weights():
    a, b = build_model("compact", seed=3), build_model("compact", seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_model("resnet")
