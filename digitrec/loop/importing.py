"""Importing a folder or CSV of labelled scans into the feedback store (`digitrec feedback import`),
each row tagged with the import's source so the population is a slice of its own.

The images are read as `import_layouts` describes; then an image given two labels (in the
import, or here and in the store) is a conflict and stored under neither, since a silent relabel
would surprise; one already stored with its label is counted, not stored again; the digits left
go through the Great Expectations suite that training runs on feedback; and what passes is
stored with one `feedback.add` call.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from digitrec.constants import TRAIN_COLUMNS
from digitrec.data.validation.report import ValidationBounds, ValidationFailed
from digitrec.loop import feedback
from digitrec.loop.import_layouts import Labelled, LayoutError, read_layout
from digitrec.storage import write_text_atomic

# The bounds digitrec.pipeline.feedback validates feedback with (a few rows, any balance).
FEEDBACK_BOUNDS = ValidationBounds(min_class_ratio=0.0, max_class_ratio=10.0)
SUITE_FAILED = "failed the Great Expectations suite"


@dataclass(frozen=True)
class ImportSummary:
    """What an import found, stored, skipped and refused, and why."""

    path: str
    layout: str  # "class folders" | "file,label CSV" | "Kaggle CSV"
    source: str
    reviewer: str
    found: int  # images (files or rows) in PATH
    imported: int  # rows stored now
    already_stored: int  # images the store already holds with the same label
    repeated: int  # further copies in PATH of an image and label imported once
    conflicts: list[dict]  # [{item, labels, stored}]: one image, several labels; none stored
    quarantined: list[dict]  # [{item, reason}]: unreadable or invalid; nothing written
    per_label: dict[str, int]  # rows stored now, by label
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def import_labels(
    path: Path | str,
    source: str,
    reviewer: str,
    bounds: ValidationBounds = FEEDBACK_BOUNDS,
) -> ImportSummary:
    """Store PATH's labelled images as feedback from `source`; LayoutError (a ValueError) when
    PATH is missing or none of the layouts, ValueError for a bad source or reviewer."""
    started = time.perf_counter()
    if not feedback.is_source(source):
        raise ValueError(feedback.source_problem(source))
    feedback.check_text("import", "reviewer", reviewer)
    found = read_layout(Path(path))
    if not found.labelled and not found.quarantined:
        raise LayoutError(f"{path}: nothing to import in the {found.layout}")
    new, already, repeated, conflicts = sort_out(found.labelled, stored_labels())
    new, failed = validated(new, bounds)
    rows = [feedback.FeedbackRow.new(item.label, item.pixels, source, reviewer) for item in new]
    added = feedback.add(rows) if rows else []  # one locked append for the whole import
    return ImportSummary(
        path=str(path),
        layout=found.layout,
        source=source,
        reviewer=reviewer,
        found=len(found.labelled) + len(found.quarantined),
        imported=len(added),
        already_stored=already + len(rows) - len(added),  # another writer may have been first
        repeated=repeated,
        conflicts=conflicts,
        quarantined=found.quarantined + failed,
        per_label=per_label(row.label for row in added),
        seconds=round(time.perf_counter() - started, 3),
    )


def stored_labels() -> dict[str, str]:
    """Each stored image's current label (its latest), by fingerprint."""
    return {row.fingerprint: row.label for row in feedback.latest_labels()}


def sort_out(
    items: list[Labelled], stored: dict[str, str]
) -> tuple[list[Labelled], int, int, list[dict]]:
    """(new images, once each; items already stored; repeats; conflicts): an image whose labels
    disagree, within the import or with the store, is a conflict for every item showing it."""
    groups: dict[str, list[Labelled]] = {}
    for item in items:
        groups.setdefault(feedback.fingerprint(item.pixels), []).append(item)
    new, already, repeated, conflicts = [], 0, 0, []
    for key, group in groups.items():
        held = stored.get(key)
        labels = sorted({item.label for item in group} | ({held} if held else set()))
        if len(labels) > 1:
            conflicts += [{"item": i.item, "labels": labels, "stored": held} for i in group]
        elif held is not None:
            already += len(group)
        else:
            new.append(group[0])
            repeated += len(group) - 1
    return new, already, repeated, conflicts


def validated(items: list[Labelled], bounds: ValidationBounds) -> tuple[list[Labelled], list]:
    """The items, less their digits when the suite fails those (then quarantined with the
    suite's failure text); 'not a digit' images have no Kaggle row to check."""
    digits = [item for item in items if item.label != feedback.NOT_A_DIGIT]
    problem = suite_problem(digits, bounds) if digits else None
    if problem is None:
        return items, []
    failed = [{"item": d.item, "reason": f"{d.item}: {SUITE_FAILED}: {problem}"} for d in digits]
    return [item for item in items if item.label == feedback.NOT_A_DIGIT], failed


def suite_problem(digits: list[Labelled], bounds: ValidationBounds) -> str | None:
    """The Great Expectations suite's failure text for these rows as a Kaggle train CSV (as
    training checks feedback); None when they pass."""
    from digitrec.data.validation import validate_dataset

    lines = [",".join(TRAIN_COLUMNS)]
    lines += [",".join([d.label, *map(str, d.pixels.reshape(-1).tolist())]) for d in digits]
    with tempfile.TemporaryDirectory(prefix="digitrec-import-") as folder:
        csv = write_text_atomic(Path(folder) / "import.csv", "\n".join(lines) + "\n")
        report = validate_dataset(csv, bounds=bounds)
    return None if report.success else " ".join(str(ValidationFailed(report)).splitlines())


def per_label(labels: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(feedback.LABELS, 0)
    for label in labels:
        counts[label] += 1
    return counts


def to_text(summary: ImportSummary) -> str:
    """The summary for a terminal: counts first, then each conflict and quarantined item."""
    stored = "  ".join(f"{label}:{n}" for label, n in summary.per_label.items() if n)
    lines = [
        f"imported         {summary.imported} of {summary.found} ({summary.layout} {summary.path})"
        f" as source '{summary.source}', reviewer '{summary.reviewer}'",
        f"per label        {stored or '-'}",
        f"already stored   {summary.already_stored} (same image, same label: not stored again)",
        f"repeated         {summary.repeated} (more copies of an image imported once)",
        f"conflicts        {len(summary.conflicts)} (one image, different labels: stored under"
        " none; the store is never relabelled by an import)",
    ]
    for conflict in summary.conflicts:
        held = f"; the store has {conflict['stored']!r}" if conflict["stored"] else ""
        lines.append(f"  {conflict['item']}: labels {', '.join(conflict['labels'])}{held}")
    lines.append(f"quarantined      {len(summary.quarantined)} (nothing written for them)")
    lines += [f"  {entry['reason']}" for entry in summary.quarantined]
    lines.append(f"took             {summary.seconds:.1f} s")
    return "\n".join(lines)
