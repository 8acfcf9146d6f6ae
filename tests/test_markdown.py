"""Markdown blocks: tables that survive any cell, images that decode, headings."""

import base64
import re

import numpy as np
import pytest

from digitrec.evaluation.figures import class_balance
from digitrec.markdown import image, section, table


def test_table_layout_formats_and_alignment():
    rows = [
        {"model": "baseline", "accuracy": 0.99123456, "epochs": 3},
        {"model": "final", "accuracy": np.float32(0.995), "epochs": np.int64(12)},
    ]
    assert table(rows) == (
        "| model | accuracy | epochs |\n"
        "| --- | ---: | ---: |\n"
        "| baseline | 0.9912 | 3 |\n"
        "| final | 0.9950 | 12 |\n"
    )
    assert "| 99.12% |" in table(rows, columns=["accuracy"], floats="{:.2%}")


def test_table_columns_union_order_and_missing_cells():
    rows = [{"a": 1}, {"b": "x", "a": 2}, {"c": None}]
    text = table(rows)
    assert text.splitlines()[0] == "| a | b | c |"
    assert text.splitlines()[2] == "| 1 |  |  |"
    assert table(rows, columns=["c", "a"]).splitlines()[0] == "| c | a |"


def test_table_escapes_pipes_and_newlines():
    text = table([{"note": "a|b\nc", "flag": True}])
    lines = text.splitlines()
    assert lines[2] == r"| a\|b<br>c | True |"
    # Every line has the same number of unescaped column separators.
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in lines}) == 1


def test_empty_table():
    assert table([]) == "_(no rows)_\n"
    assert table([], columns=["digit", "count"]) == "| digit | count |\n| --- | --- |\n"


def test_image_embeds_png_as_data_uri():
    png = class_balance(np.arange(10))
    text = image(png, "class [balance]")
    match = re.fullmatch(r"!\[(.*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)\n", text)
    assert match is not None
    assert match.group(1) == r"class \[balance\]"
    assert base64.b64decode(match.group(2)) == png
    with pytest.raises(ValueError, match="not a PNG"):
        image(b"GIF89a...", "nope")


def test_section_heading_levels():
    assert section("Evaluation", "body text\n\n") == "## Evaluation\n\nbody text\n"
    assert section("Multi\nline", "x", level=3).startswith("### Multi line\n")
    blocks = section("A", "one") + "\n" + section("B", table([{"x": 1}]))
    assert "one\n\n## B\n\n| x |" in blocks
    with pytest.raises(ValueError, match="1..6"):
        section("bad", "x", level=7)


def test_escape_shows_untrusted_text_literally():
    from digitrec.markdown import escape

    assert escape("a_b*c*.png") == r"a\_b\*c\*\.png"
    assert escape("[x](javascript:y)") == r"\[x\]\(javascript:y\)"
    assert escape("<script>&") == "&lt;script&gt;&amp;"
    assert escape("two\nlines  \\ `code`") == r"two lines \\ \`code\`"
