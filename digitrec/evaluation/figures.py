"""Figures as small PNG bytes, ready to embed in markdown artifacts and the run report.

Uses matplotlib's object API with the Agg canvas directly: no pyplot, so no global figure
state, no GUI backend and nothing to close; safe in worker threads.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from digitrec.arrays import first_non_digit
from digitrec.constants import DIGITS, IMAGE_SIZE, NUM_CLASSES
from digitrec.plotting import new_figure, to_png

GAP = 2  # pixels between digits in a mosaic
TITLE_GAP = 9  # pixels above each gallery digit for its title
GALLERY_COLUMNS = 6
PANEL_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def as_images(images) -> np.ndarray:
    """Images as (N, 28, 28); refuses anything else with the shape it got."""
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]  # (N, 28, 28, 1) -> (N, 28, 28)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"images: expected shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}), got {array.shape}"
        )
    return array


def as_digit_labels(labels, count: int | None = None) -> np.ndarray:
    """Labels as int64 (N,) digits 0..9, optionally checked against the image count."""
    array = np.asarray(labels).astype(np.int64).ravel()  # (N,)
    if count is not None and array.size != count:
        raise ValueError(f"labels: {array.size} labels for {count} images")
    bad = first_non_digit(array)
    if bad is not None:
        raise ValueError(f"labels[{bad}] = {array[bad]}: values must be digits 0..9")
    return array


def mosaic(tiles: np.ndarray, row_gap: int = GAP) -> np.ndarray:
    """Tile (rows, cols, 28, 28) images into one (H, W) canvas with gaps (NaN shows as blank)."""
    rows, cols = tiles.shape[:2]
    down, across = IMAGE_SIZE + row_gap, IMAGE_SIZE + GAP
    canvas = np.full((rows * down - row_gap, cols * across - GAP), np.nan)  # (H, W)
    for r in range(rows):
        for c in range(cols):
            top, left = r * down, c * across
            canvas[top : top + IMAGE_SIZE, left : left + IMAGE_SIZE] = tiles[r, c]
    return canvas


def sample_grid(images, labels, per_class: int = 10, seed: int = 0) -> bytes:
    """Random examples of every digit, one row per digit: a quick look at what the data is."""
    pictures = as_images(images)  # (N, 28, 28)
    digits = as_digit_labels(labels, len(pictures))
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    rng = np.random.default_rng(seed)
    tiles = np.full((NUM_CLASSES, per_class, IMAGE_SIZE, IMAGE_SIZE), np.nan)  # (10, K, 28, 28)
    for digit in range(NUM_CLASSES):
        members = np.flatnonzero(digits == digit)
        chosen = rng.choice(members, size=min(per_class, members.size), replace=False)
        tiles[digit, : chosen.size] = pictures[chosen]
    figure = new_figure(0.42 * per_class + 0.6, 4.6)
    ax = figure.add_subplot()
    ax.imshow(mosaic(tiles), cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    step = IMAGE_SIZE + GAP
    ax.set_yticks(np.arange(NUM_CLASSES) * step + IMAGE_SIZE / 2, [str(d) for d in DIGITS])
    ax.set_xticks([])
    ax.tick_params(length=0)
    ax.set_title(f"{per_class} random samples per digit", fontsize=10)
    return to_png(figure)


def class_balance(labels) -> bytes:
    """Images per digit: shows whether any class is under-represented."""
    counts = np.bincount(as_digit_labels(labels), minlength=NUM_CLASSES)  # (10,)
    figure = new_figure(6, 3.2)
    ax = figure.add_subplot()
    bars = ax.bar(np.arange(NUM_CLASSES), counts, color="tab:blue")
    ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=7, padding=2)
    ax.set_xticks(np.arange(NUM_CLASSES))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_ylim(0, max(int(counts.max()), 1) * 1.12)
    ax.set_title(f"Class balance ({int(counts.sum()):,} images)", fontsize=10)
    return to_png(figure)


def mean_images(images, labels) -> bytes:
    """The average image of each digit: the typical shape the model has to learn."""
    pictures = as_images(images).astype(np.float64)  # (N, 28, 28)
    digits = as_digit_labels(labels, len(pictures))
    figure = new_figure(6, 2.8)
    axes = figure.subplots(2, 5)
    for digit, ax in enumerate(axes.ravel()):
        members = pictures[digits == digit]  # (n_d, 28, 28)
        if len(members):
            ax.imshow(members.mean(axis=0), cmap="magma", vmin=0, vmax=255)
        ax.set_title(f"{digit} (n={len(members):,})", fontsize=8)
        ax.set_axis_off()
    return to_png(figure)


def pixel_histogram(images) -> bytes:
    """Distribution of pixel intensities: mostly 0 background, a ridge of saturated ink."""
    pictures = as_images(images)  # (N, 28, 28)
    values = np.clip(pictures, 0, 255).astype(np.int64).ravel()  # (N * 784,)
    counts = np.bincount(values, minlength=256)  # (256,)
    figure = new_figure(6, 3.2)
    ax = figure.add_subplot()
    ax.stairs(counts, np.arange(257), fill=True, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlim(-3, 259)  # keep the tall 0 bin clear of the axis spine
    ax.set_xlabel("pixel intensity")
    ax.set_ylabel("pixels (log scale)")
    zero_share = counts[0] / max(values.size, 1)
    ax.set_title(f"Pixel intensities ({zero_share:.1%} are 0)", fontsize=10)
    return to_png(figure)


def confusion_figure(cm) -> bytes:
    """Annotated confusion heatmap; log colour keeps rare errors visible beside the diagonal."""
    counts = np.asarray(cm, dtype=np.int64)  # (C, C)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {counts.shape}")
    size = counts.shape[0]
    shade = np.log1p(counts)  # (C, C)
    figure = new_figure(5.4, 4.8)
    ax = figure.add_subplot()
    image = ax.imshow(shade, cmap="Blues", vmin=0, vmax=max(float(shade.max()), 1.0))
    figure.colorbar(image, ax=ax, label="log(1 + count)", shrink=0.8)
    threshold = shade.max() * 0.6
    for true in range(size):
        for pred in range(size):
            if counts[true, pred]:
                color = "white" if shade[true, pred] > threshold else "black"
                label = str(counts[true, pred])
                ax.text(pred, true, label, ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(np.arange(size))
    ax.set_yticks(np.arange(size))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix", fontsize=10)
    return to_png(figure)


def misclassified_gallery(images, y_true, y_pred, confidence) -> bytes:
    """The mistakes themselves, titled 'true 4 -> 9 (0.97)': often ambiguous or mislabelled."""
    pictures = as_images(images)  # (M, 28, 28)
    truth = as_digit_labels(y_true, len(pictures))
    pred = as_digit_labels(y_pred, len(pictures))
    conf = np.asarray(confidence, dtype=np.float64).ravel()  # (M,)
    if conf.size != len(pictures):
        raise ValueError(f"confidence: {conf.size} values for {len(pictures)} images")
    if not len(pictures):
        figure = new_figure(4, 1)
        figure.text(0.5, 0.5, "No misclassified digits", ha="center", va="center")
        return to_png(figure)
    cols = min(GALLERY_COLUMNS, len(pictures))
    rows = -(-len(pictures) // cols)
    tiles = np.full((rows * cols, IMAGE_SIZE, IMAGE_SIZE), np.nan)  # (rows * cols, 28, 28)
    tiles[: len(pictures)] = pictures
    # One axes holding a mosaic renders ~10x faster than one axes per image.
    figure = new_figure(max(1.25 * cols, 2.0), 1.3 * rows + 0.1)
    ax = figure.add_subplot()
    canvas = mosaic(tiles.reshape(rows, cols, IMAGE_SIZE, IMAGE_SIZE), row_gap=TITLE_GAP)
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_ylim(rows * (IMAGE_SIZE + TITLE_GAP) - TITLE_GAP, -TITLE_GAP)
    ax.set_axis_off()
    for i in range(len(pictures)):
        row, col = divmod(i, cols)
        x = col * (IMAGE_SIZE + GAP) + IMAGE_SIZE / 2
        y = row * (IMAGE_SIZE + TITLE_GAP) - 1
        title = f"true {truth[i]} -> {pred[i]} ({conf[i]:.2f})"
        ax.text(x, y, title, ha="center", va="bottom", fontsize=7)
    return to_png(figure)


def training_curves(histories: dict[str, dict[str, list[float]]]) -> bytes:
    """Loss and accuracy per epoch for each model (solid train, dashed validation)."""
    if not histories:
        raise ValueError("training_curves needs at least one history")
    figure = new_figure(8, 3.2)
    loss_ax, acc_ax = figure.subplots(1, 2)
    for i, (name, history) in enumerate(histories.items()):
        color = PANEL_COLORS[i % len(PANEL_COLORS)]
        for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            for key, style, label in ((metric, "-", "train"), (f"val_{metric}", "--", "val")):
                values = history.get(key) or []
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, color=color, marker=".", label=f"{name} {label}")
    for ax, title in ((loss_ax, "Loss"), (acc_ax, "Accuracy")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return to_png(figure)


def model_comparison(rows: list[dict]) -> bytes:
    """Validation accuracy per model, y axis zoomed so differences of 0.1% are visible."""
    if not rows:
        raise ValueError("model_comparison needs at least one row")
    names = [str(row["model"]) for row in rows]
    accuracy = np.array([float(row["val_accuracy"]) for row in rows])  # (M,)
    figure = new_figure(max(4.0, 1.1 * len(rows) + 1.5), 3.2)
    ax = figure.add_subplot()
    bars = ax.bar(names, accuracy, color=[PANEL_COLORS[i % 6] for i in range(len(rows))])
    ax.bar_label(bars, labels=[f"{a:.2%}" for a in accuracy], fontsize=8, padding=2)
    ax.set_ylim(*comparison_limits(accuracy))
    ax.set_ylabel("validation accuracy")
    ax.set_title("Model comparison", fontsize=10)
    return to_png(figure)


def comparison_limits(accuracy: np.ndarray) -> tuple[float, float]:
    """Y range around the accuracies, padded by half their spread (at least 0.2 points)."""
    pad = max(float(accuracy.max() - accuracy.min()) * 0.5, 0.002)
    # Room above the top bar for its label, even at 100%.
    return max(0.0, float(accuracy.min()) - pad), min(1.0, float(accuracy.max()) + pad) + pad * 0.3
