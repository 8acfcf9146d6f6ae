"""Figures: valid, small PNGs whose layout follows the data, made without pyplot."""

import io
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

from digitrec.evaluation import figures as visualization
from digitrec.evaluation.metrics import confusion

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 150_000

HISTORY = {
    "loss": [0.9, 0.4, 0.25],
    "accuracy": [0.80, 0.91, 0.95],
    "val_loss": [0.5, 0.3, 0.28],
    "val_accuracy": [0.88, 0.93, 0.94],
}


@pytest.fixture(scope="module")
def digits(mnist_arrays) -> tuple[np.ndarray, np.ndarray]:
    """300 real images uint8 (300, 28, 28) and their labels (300,)."""
    images, labels = mnist_arrays
    return images[:300], labels[:300]


def decode(png: bytes) -> np.ndarray:
    """Check the PNG is real and small; return its pixels (H, W, 4)."""
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < MAX_BYTES, f"{len(png):,} bytes"
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels[..., :3].std() > 0.01, "figure is blank"
    return pixels


def test_data_figures_are_small_valid_pngs(digits):
    images, labels = digits
    for png in (
        visualization.sample_grid(images, labels),
        visualization.class_balance(labels),
        visualization.mean_images(images, labels),
        visualization.pixel_histogram(images),
    ):
        height, width, _ = decode(png).shape
        assert 150 < width < 900 and 150 < height < 900


def test_sample_grid_width_follows_samples_per_class_and_seed(digits):
    images, labels = digits
    wide = decode(visualization.sample_grid(images, labels, per_class=12))
    narrow = decode(visualization.sample_grid(images, labels, per_class=4))
    assert wide.shape[1] > narrow.shape[1] * 1.5
    same = visualization.sample_grid(images, labels, seed=1)
    assert same == visualization.sample_grid(images, labels, seed=1)
    assert same != visualization.sample_grid(images, labels, seed=2)


def test_sample_grid_tolerates_a_missing_digit(digits):
    images, labels = digits
    keep = labels != 5
    full = decode(visualization.sample_grid(images, labels, per_class=3))
    missing = decode(visualization.sample_grid(images[keep], labels[keep], per_class=3))
    # Same layout (ten rows, the missing digit's left blank), less ink: a row has no digits.
    assert missing.shape == full.shape

    def ink(pixels: np.ndarray) -> int:  # dark pixels: digits are drawn dark on white (gray_r)
        return int((pixels[..., :3].mean(-1) < 0.5).sum())

    assert 0.8 * ink(full) < ink(missing) < ink(full)


def test_image_inputs_are_checked(digits):
    images, labels = digits
    with pytest.raises(ValueError, match=r"expected shape \(N, 28, 28\)"):
        visualization.pixel_histogram(images.reshape(-1, 784))
    with pytest.raises(ValueError, match="299 labels for 300 images"):
        visualization.mean_images(images, labels[:-1])
    with pytest.raises(ValueError, match="digits 0..9"):
        visualization.class_balance(np.array([1, 2, 12]))


def test_confusion_figure(digits):
    _, labels = digits
    predicted = labels.copy()
    predicted[::7] = (predicted[::7] + 1) % 10
    height, width, _ = decode(visualization.confusion_figure(confusion(labels, predicted))).shape
    assert width > 250 and height > 250
    with pytest.raises(ValueError, match="square"):
        visualization.confusion_figure(np.zeros((3, 4)))


def test_misclassified_gallery_grows_with_mistakes(digits):
    images, labels = digits
    predicted = (labels + 1) % 10
    confidence = np.linspace(0.99, 0.5, 36)
    many = decode(
        visualization.misclassified_gallery(images[:36], labels[:36], predicted[:36], confidence)
    )
    few = decode(
        visualization.misclassified_gallery(images[:6], labels[:6], predicted[:6], confidence[:6])
    )
    assert many.shape[0] > few.shape[0] * 3  # six rows of six against one row
    assert many.shape[1] == few.shape[1]
    decode(visualization.misclassified_gallery(images[:0], labels[:0], labels[:0], []))
    with pytest.raises(ValueError, match="confidence: 5 values for 6 images"):
        visualization.misclassified_gallery(images[:6], labels[:6], predicted[:6], confidence[:5])


def test_training_curves_handle_several_models_and_missing_keys():
    partial = {"loss": [0.7, 0.5], "accuracy": [0.8, 0.85]}  # trained without validation data
    decode(visualization.training_curves({"baseline": HISTORY, "final": partial}))
    with pytest.raises(ValueError, match="at least one history"):
        visualization.training_curves({})


def test_model_comparison_zooms_near_the_top():
    rows = [
        {"model": "baseline", "val_accuracy": 0.9905},
        {"model": "final", "val_accuracy": 0.995},
    ]
    decode(visualization.model_comparison(rows))
    low, high = visualization.comparison_limits(np.array([0.9905, 0.995]))
    assert 0.98 < low < 0.9905 and 0.995 < high < 1.0
    top_low, top_high = visualization.comparison_limits(np.array([1.0]))
    assert top_low < 1.0 < top_high  # a perfect score still leaves room for its label
    with pytest.raises(ValueError, match="at least one row"):
        visualization.model_comparison([])


def test_module_never_touches_pyplot():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from digitrec.evaluation import figures as visualization\n"
        "visualization.class_balance(np.arange(10))\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
