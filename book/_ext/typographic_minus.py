"""A Sphinx extension: every negative number a page prints gets a true minus sign.

The notebooks format gains with Python (``f"{x:+.2f}"``), which writes a hyphen-minus, while
matplotlib's axes write U+2212: a reader saw "-0.7" in a heatmap cell beside "−0.5" on its
colour bar, and "+1.50 [-0.12, +3.11]" in tables, where the hyphen is narrower than the plus.
Once a page's references and pasted glue values are resolved (``doctree-resolved``), each
hyphen that stands before a digit and after no letter, digit, dot or hyphen (so "10-conv",
"2026-12-06", "1e-3", "CIFAR-10" and run ids keep theirs) becomes U+2212, in prose and in
tables, never in code, printed output, math or raw HTML.

Likewise a number keeps its unit on its line: the space between a number and "%" or "pp"
becomes a no-break space (U+00A0), within a text and where a pasted glue value ends and the
text after it begins (a line broke "82.45 | %" on chapter 6's page).
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


UNIT = re.compile(r"(?<=\d) (?=(?:%|pp)(?!\w))")
UNIT_AFTER_VALUE = re.compile(r"^ (?=(?:%|pp)(?!\w))")
NO_BREAK = "\u00a0"


def unit_spaces(text: str, after_number: bool = False) -> str:
    """``"82.45 % and +1.2 pp"`` -> the same with U+00A0 before "%" and "pp";
    ``after_number``: the text follows a number in another node (a glue value), so a leading
    ``" %"`` gets one too."""
    text = UNIT.sub(NO_BREAK, text)
    return UNIT_AFTER_VALUE.sub(NO_BREAK, text) if after_number else text


def replace_minus_signs(app, doctree, docname) -> None:
    for node in list(doctree.findall(nodes.Text)):
        if any(isinstance(parent, LEFT_ALONE) for parent in _ancestors(node)):
            continue
        text = unit_spaces(typographic_minus(str(node)), _follows_a_number(node))
        if text != str(node):
            node.parent.replace(node, nodes.Text(text))


def _follows_a_number(node) -> bool:
    parent = node.parent
    index = parent.index(node)
    return index > 0 and parent[index - 1].astext()[-1:].isdigit()


def _ancestors(node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def setup(app):
    app.connect("doctree-resolved", replace_minus_signs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
