"""A Sphinx extension: every negative number a page prints gets a true minus sign.

The notebooks format gains with Python (``f"{x:+.2f}"``), which writes a hyphen-minus, while
matplotlib's axes write U+2212: a reader saw "-0.7" in a heatmap cell beside "−0.5" on its
colour bar, and "+1.50 [-0.12, +3.11]" in tables, where the hyphen is narrower than the plus.
Once a page's references and pasted glue values are resolved (``doctree-resolved``), each
hyphen that stands before a digit and after no letter, digit, dot or hyphen (so "10-conv",
"2026-12-06", "1e-3", "CIFAR-10" and run ids keep theirs) becomes U+2212, in prose and in
tables, never in code, printed output, math or raw HTML.
"""

from __future__ import annotations

import re

from docutils import nodes

NEGATIVE = re.compile(r"(?<![\w.\-\u2212])-(?=\d)")
MINUS = "\u2212"
# what a reader copies or reads as code, and what MathJax typesets
LEFT_ALONE = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw,
              nodes.FixedTextElement)


def typographic_minus(text: str) -> str:
    """``"-5.78 [-6.54, -5.03]"`` -> ``"−5.78 [−6.54, −5.03]"``; "10-conv" is left alone."""
    return NEGATIVE.sub(MINUS, text)


def replace_minus_signs(app, doctree, docname) -> None:
    for node in list(doctree.findall(nodes.Text)):
        if any(isinstance(parent, LEFT_ALONE) for parent in _ancestors(node)):
            continue
        text = typographic_minus(str(node))
        if text != str(node):
            node.parent.replace(node, nodes.Text(text))


def _ancestors(node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def setup(app):
    app.connect("doctree-resolved", replace_minus_signs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
