"""The loop's commands: `digitrec label` (label the model's most doubtful logged images in the
terminal), `digitrec feedback` (what the feedback store holds, and whether retraining is due) and
`digitrec feedback import` (a folder or CSV of labelled scans into the store).
Imports stay inside the commands so `digitrec predict` starts as fast as before."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import numpy as np

    from digitrec.loop.review import ReviewItem

SOURCE = "cli"
PROMPT = "label [0-9, n = not a digit, s = skip, q = quit]"
RAMP = " .:-=+*#%@"  # dark to bright: MNIST ink is bright on a dark ground
HALF_BLOCK = "\u2580"  # upper half: foreground colours the top pixel, background the bottom


def register(app: typer.Typer) -> None:
    """Add `label` and `feedback` (with its `import` subcommand) to the `digitrec` command."""
    app.command("label")(label)
    group = typer.Typer(invoke_without_command=True, add_completion=False)
    group.callback()(feedback_report)  # plain `digitrec feedback`: the report
    group.command("import")(import_labels)
    app.add_typer(group, name="feedback")


def label(
    n: Annotated[
        int, typer.Option("--n", min=1, help="How many logged predictions to review.")
    ] = 20,
    reviewer: Annotated[
        str | None, typer.Option(help="Name stored with each label (default: your user name).")
    ] = None,
) -> None:
    """Label the least confident logged predictions: 0-9, n (not a digit), s (skip), q (quit,
    keeping the answers so far). Labels go to the feedback store."""
    from digitrec.loop import review

    items = review.pick(n)
    if not items:
        typer.echo("nothing to review: every logged image is labelled or was skipped")
        return
    who = clean_name(reviewer or user_name())
    typer.echo(f"{len(items)} images, most doubtful first (the 28x28 the model saw)")
    answers = {}
    for number, item in enumerate(items, start=1):
        show(item, number, len(items))
        if (answer := ask()) is None:
            break
        answers[item.key] = answer
    saved = review.save(items, answers, SOURCE, who)
    typer.echo(
        f"stored {len(saved.added)} labels, skipped {len(saved.skipped)} predictions, "
        f"{len(items) - len(answers)} of {len(items)} images left for later"
    )
    if saved.added:
        announce(len(saved.added))


def show(item: ReviewItem, number: int, total: int) -> None:
    typer.echo(f"\n[{number}/{total}] {item.title}  (logged {item.time})")
    typer.echo(render(item.pixels, color=use_color()))


def ask() -> str | None:
    """One answer as a feedback label or "skip"; None to stop (q, or the end of input)."""
    from digitrec.loop.feedback import NOT_A_DIGIT
    from digitrec.loop.review import SKIP

    keys = {**{str(d): str(d) for d in range(10)}, "n": NOT_A_DIGIT, "s": SKIP}
    while True:
        try:
            raw = typer.prompt(PROMPT, default="", show_default=False)
        except typer.Abort:  # stdin ended: keep what was answered
            return None
        key = raw.strip().lower()
        if key == "q":
            return None
        if key in keys:
            return keys[key]
        typer.echo(f"expected one of 0-9, n, s, q; got {raw.strip()!r}")


def render(pixels: np.ndarray, color: bool) -> str:
    """A 28x28 image in 14 lines of 28 characters: two pixel rows per line."""
    rows = pixels.astype(int)  # (28, 28)
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):  # (28,), (28,)
        if color:
            cells = (
                f"\x1b[38;2;{t};{t};{t}m\x1b[48;2;{b};{b};{b}m{HALF_BLOCK}"
                for t, b in zip(top, bottom, strict=True)
            )
            lines.append("".join(cells) + "\x1b[0m")
        else:
            mean = (top + bottom) / 2  # (28,)
            lines.append("".join(RAMP[int(v * len(RAMP) / 256)] for v in mean).rstrip())
    return "\n".join(lines)


def use_color() -> bool:
    """ANSI colour only on a terminal, and never with NO_COLOR set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment (some containers)
        return "anonymous"


def clean_name(name: str) -> str:
    """A reviewer name the feedback store accepts: printable, trimmed, at most 64 characters."""
    from digitrec.loop.feedback import MAX_TEXT

    cleaned = "".join(c for c in name if c.isprintable()).strip()[:MAX_TEXT]
    return cleaned or "anonymous"


def announce(new: int, source: str = SOURCE, err: bool = False) -> None:
    """Tell the Prefect server; the labels are stored whether or not a server listens."""
    from tasks.events import announce_feedback

    announced = announce_feedback(new, source)
    payload = announced.event.payload
    typer.echo(
        f"{announced.event.event}: {announced.note}; {payload['since_champion']} of "
        f"{payload['threshold']} labels since the champion",
        err=err,
    )


def feedback_report(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    export_csv: Annotated[
        str | None,
        typer.Option(help="Also write the digit labels as a Kaggle train CSV at this path."),
    ] = None,
) -> None:
    """How many labels the feedback store holds: in all, per label, not a digit, and since the
    champion was trained (against DIGITREC_RETRAIN_AFTER_LABELS)."""
    if ctx.invoked_subcommand is not None:
        return
    from digitrec.loop import events, feedback
    from digitrec.registry import champion

    record = champion()
    try:
        status = events.status(record.created if record else None)
        if export_csv:
            path = feedback.to_kaggle_csv(export_csv)
            status["exported"] = {"path": str(path), "rows": csv_rows(path)}
    except (ValueError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(json.dumps(status) if as_json else readable(status))


def csv_rows(path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1  # minus the header


def readable(status: dict) -> str:
    per_label = "  ".join(f"{label}:{count}" for label, count in status["per_label"].items())
    champion = status["champion_created"]
    since = f"since the champion ({champion})" if champion else "with no champion (all rows)"
    lines = [
        f"labelled images  {status['total']}",
        f"per label        {per_label}",
        f"not a digit      {status['not_a_digit']}",
        f"new labels       {status['since_champion']} {since}",
        f"retraining due   {'yes' if status['retrain_due'] else 'no'}"
        f" (after {status['threshold']} labels, DIGITREC_RETRAIN_AFTER_LABELS)",
    ]
    if exported := status.get("exported"):
        lines.append(f"exported         {exported['path']} ({exported['rows']} digit rows)")
    return "\n".join(lines)


def import_labels(
    path: Annotated[
        str,
        typer.Argument(
            help="A folder with one subfolder per class (0/ .. 9/, not-a-digit/), a CSV with "
            "columns file,label (paths relative to the CSV), or a Kaggle train CSV.",
            show_default=False,
        ),
    ],
    source: Annotated[
        str,
        typer.Option(
            help="Name of this population, stored on every row so training and monitoring can "
            "treat it as a slice: lowercase a-z, 0-9, _ and -, up to 32 characters "
            "(e.g. clinic-scans).",
            show_default=False,
        ),
    ],
    reviewer: Annotated[
        str | None, typer.Option(help="Name stored with each label (default: your user name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Import labelled scans into the feedback store. Each image is read as `digitrec predict`
    reads it; bad files and rows are quarantined with the reason, the rest imported. Exit 0 when
    rows were imported or were already stored, 1 when nothing could be, 2 for a bad PATH."""
    from digitrec.loop import importing

    try:
        summary = importing.import_labels(path, source, clean_name(reviewer or user_name()))
    except (ValueError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(json.dumps(summary.to_dict()) if as_json else importing.to_text(summary))
    if summary.imported:
        try:
            # With --json, stdout keeps the one JSON object: whatever the announcement (or the
            # Prefect client under it) prints goes to stderr.
            with contextlib.redirect_stdout(sys.stderr if as_json else sys.stdout):
                announce(summary.imported, source, err=as_json)
        except (ValueError, OSError) as error:
            typer.echo(f"the labels are stored, but were not announced: {error}", err=True)
    raise typer.Exit(0 if summary.imported or summary.already_stored else 1)
