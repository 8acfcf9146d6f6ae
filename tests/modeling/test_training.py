"""Training: split determinism, augmentation geometry, a tiny real fit, BN inference sanity."""

import numpy as np
import pytest

from digitrec.data.split import stratified_split
from digitrec.modeling.augmentation import (
    Augmentation,
    coarsened,
    displacement_field,
    elastic_affine,
    random_affine,
    random_warp,
)
from digitrec.modeling.training import TrainConfig, fit, make_dataset, predict_proba


def test_split_is_stratified_deterministic_disjoint():
    labels = np.repeat(np.arange(10), 50).astype(np.uint8)
    a_train, a_val = stratified_split(labels, 0.2, seed=7)
    b_train, b_val = stratified_split(labels, 0.2, seed=7)
    np.testing.assert_array_equal(a_val, b_val)
    assert not set(a_train) & set(a_val) and len(a_train) + len(a_val) == 500
    assert np.bincount(labels[a_val]).tolist() == [10] * 10
    assert not np.array_equal(stratified_split(labels, 0.2, seed=8)[1], a_val)


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match="validation fraction"):
        stratified_split(np.zeros(10, np.uint8), 1.5, 0)


def test_affine_identity_and_jitter(mnist_arrays):
    import tensorflow as tf

    images = tf.constant(mnist_arrays[0][:16, :, :, None].astype("float32"))
    seed = tf.constant([0, 0], tf.int64)
    same = random_affine(images, seed, Augmentation(0.0, 0.0, 0.0)).numpy()
    np.testing.assert_array_equal(same, images.numpy())
    moved = random_affine(images, seed, Augmentation()).numpy()
    assert moved.shape == (16, 28, 28, 1) and not np.array_equal(moved, images.numpy())
    # Ink is kept, not flipped or lost: total intensity changes by zoom only (|zoom| <= 10%).
    ratio = moved.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert np.all((ratio > 0.75) & (ratio < 1.3))


def test_elastic_resample_matches_the_affine_one_when_the_field_vanishes(mnist_arrays):
    """The elastic path's own bilinear sampler reads the same pixels as TensorFlow's projective
    transform for the same affine jitter (it draws the affine part from seed fold 1)."""
    import tensorflow as tf

    images = tf.constant(mnist_arrays[0][:16, :, :, None].astype("float32"))
    seed = tf.constant([3, 5], tf.int64)
    aug = Augmentation(elastic=1e-4)
    ours = elastic_affine(images, seed, aug).numpy()
    theirs = random_affine(images, tf.random.experimental.stateless_fold_in(seed, 1), aug)
    assert np.abs(ours - theirs.numpy()).max() < 0.5  # of 255: rounding and the tiny field
    assert not np.array_equal(ours, images.numpy())


def test_elastic_field_is_smooth_and_of_the_asked_size():
    import tensorflow as tf

    field = displacement_field(64, tf.constant([1, 2], tf.int64), Augmentation(elastic=2.0))
    field = field.numpy()  # (64, 28, 28, 2)
    rms = np.sqrt((field**2).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(rms, 2.0, rtol=1e-3)
    # Neighbouring pixels move almost together: the field varies over the coarse lattice.
    step = np.abs(np.diff(field, axis=1)).mean()
    assert step < 0.2 * np.abs(field).mean()


def test_elastic_warp_keeps_ink_and_differs_per_image(mnist_arrays):
    import tensorflow as tf

    images = tf.constant(mnist_arrays[0][:16, :, :, None].astype("float32"))
    seed = tf.constant([0, 1], tf.int64)
    aug = Augmentation(0.0, 0.0, 0.0, elastic=1.5)
    warped = random_warp(images, seed, aug).numpy()
    assert warped.shape == (16, 28, 28, 1) and not np.array_equal(warped, images.numpy())
    ratio = warped.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert np.all((ratio > 0.5) & (ratio < 2.0))  # bent (strokes stretch and thin), not lost
    np.testing.assert_array_equal(random_warp(images, seed, aug).numpy(), warped)  # stateless


def test_coarsening_blurs_the_picked_share_and_keeps_peaks(mnist_arrays):
    import tensorflow as tf

    images = tf.constant(mnist_arrays[0][:200, :, :, None].astype("float32"))
    seed = tf.constant([2, 9], tf.int64)
    np.testing.assert_array_equal(coarsened(images, seed, 0.0).numpy(), images.numpy())
    out = coarsened(images, seed, 0.5).numpy()
    changed = np.any(out != images.numpy(), axis=(1, 2, 3))  # (200,)
    assert 60 <= changed.sum() <= 140  # about half the batch, drawn per image
    # A coarse copy: the peak is restored, the strokes are blurred (fewer saturated pixels).
    np.testing.assert_allclose(out.max(axis=(1, 2, 3)), images.numpy().max(axis=(1, 2, 3)), 1e-3)
    saturated = lambda x: (x > 250).sum(axis=(1, 2, 3))  # noqa: E731
    assert np.all(saturated(out[changed]) < saturated(images.numpy()[changed]))
    np.testing.assert_array_equal(coarsened(images, seed, 0.5).numpy(), out)  # stateless


def test_dataset_batches_and_one_hot(mnist_arrays):
    images, labels = mnist_arrays[0][:300], mnist_arrays[1][:300]
    x, y = next(iter(make_dataset(images, labels, TrainConfig(batch_size=64), training=False)))
    assert x.shape == (64, 28, 28, 1) and x.dtype.name == "float32"
    assert y.shape == (64, 10)
    np.testing.assert_array_equal(np.argmax(y, axis=1), labels[:64])


@pytest.mark.slow
def test_tiny_fit_learns_and_inference_matches_training_mode(mnist_arrays):
    images, labels = mnist_arrays
    config = TrainConfig("compact", epochs=2, batch_size=64, seed=0)
    seen = []
    result = fit(
        config,
        (images[:2000], labels[:2000]),
        (images[60000:60500], labels[60000:60500]),
        on_epoch=lambda e, n, logs, s: seen.append((e, n, logs["val_accuracy"])),
    )
    assert [e for e, _, _ in seen] == [1, 2] and set(result.history) >= {"loss", "val_accuracy"}
    probs = predict_proba(result.model, images[60000:60500])
    accuracy = (probs.argmax(1) == labels[60000:60500]).mean()
    # 2,000 images and two epochs: far above chance, and inference mode (BN moving statistics)
    # must not collapse, as it did with Keras' default BN momentum on short schedules.
    assert accuracy > 0.85
    assert result.images_per_second > 0


@pytest.mark.slow
def test_bfloat16_training_learns_and_returns_a_float32_model(mnist_arrays, tmp_path):
    import keras

    images, labels = mnist_arrays
    config = TrainConfig("compact", epochs=2, batch_size=64, seed=0, precision="mixed_bfloat16")
    result = fit(config, (images[:2000], labels[:2000]))
    model = result.model
    # Saved, exported and served in float32, whatever it computed in while training.
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    probs = predict_proba(model, images[60000:60300])
    accuracy = (probs.argmax(1) == labels[60000:60300]).mean()
    assert probs.dtype == np.float32 and accuracy > 0.85  # as the float32 tiny fit above
    # Continuing from a saved model in bf16 starts from its weights, not from scratch.
    path = tmp_path / "m.keras"
    model.save(path)
    again = fit(
        TrainConfig("compact", epochs=1, batch_size=64, seed=1, precision="mixed_bfloat16"),
        (images[2000:3000], labels[2000:3000]),
        initial_model_path=path,
    )
    later = predict_proba(again.model, images[60000:60300]).argmax(1) == labels[60000:60300]
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert later.mean() > 0.85


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_each_precision_saves_a_model_its_litert_export_reads_alike(
    precision, mnist_arrays, tmp_path
):
    """Whatever a run computed in (auto picks per CPU), the saved model and its LiteRT export
    predict the same digits and nearly the same probabilities."""
    import keras

    from digitrec.inference.runtimes import RUNTIMES, export_runtime, keras_digits, litert_predictor

    images, labels = mnist_arrays
    config = TrainConfig("compact", epochs=2, batch_size=64, seed=0, precision=precision)
    result = fit(config, (images[:2000], labels[:2000]))
    path = tmp_path / "model.keras"
    result.model.save(path)
    saved = keras.saving.load_model(path)
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    check = images[60000:60300]  # (300, 28, 28)
    exported = export_runtime(RUNTIMES["litert"], saved, path, check)
    assert exported.path is not None and exported.agreement == 1.0
    lite = litert_predictor(exported.path)(check[..., None].astype(np.float32))  # (300, 10)
    np.testing.assert_array_equal(lite.argmax(1), keras_digits(saved, check))
    np.testing.assert_allclose(lite, predict_proba(saved, check), atol=1e-4)
    assert (lite.argmax(1) == labels[60000:60300]).mean() > 0.85  # it learned, in either


def test_every_batch_holds_the_same_share_of_emphasised_rows():
    """Corrections are a fixed share of every batch however few they are (label 1 here), the
    rest replays the base rows (label 0); an epoch is one pass over the base rows."""
    from digitrec.modeling.training import steps_per_epoch

    images = np.zeros((1000, 28, 28), np.uint8)
    labels = np.zeros(1000, np.uint8)
    labels[-12:] = 1
    emphasis = labels == 1  # 12 corrections among 1,000 rows
    config = TrainConfig(batch_size=64, augmentation=None, emphasis_share=0.25)
    batches = list(make_dataset(images, labels, config, True, emphasis).take(20))
    assert {int(b[1].numpy()[:, 1].sum()) for b in batches} == {16}  # 16 of 64 in every batch
    assert {b[0].shape[0] for b in batches} == {64}
    assert steps_per_epoch(config, 1000, emphasis) == 21  # ceil(988 / 48)
    # Without a share (or without corrections) rows mix as they come, one pass an epoch.
    plain = TrainConfig(batch_size=64, augmentation=None)
    assert len(list(make_dataset(images, labels, plain, True, emphasis))) == 16
    assert steps_per_epoch(plain, 1000, emphasis) == 16
