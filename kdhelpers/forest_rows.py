"""The rows of the forest plot (:mod:`kdhelpers.forest`): which claims, in which order,
under which headers, with which short labels."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from . import chapters, provenance

PART_HEADERS = {"paper": "The paper's claims", "beyond": "Beyond the paper: our own claims"}

# phrases said once by the chapter header or the part header, or said shorter
_SHORTER = ((" (beyond the paper)", ""), ("the no-KD baseline", "no KD"),
            ("the no-KD student", "no KD"), (" of the training data", " of the data"))
# a claim's setting differs between profiles in a trailing parenthesis ("(2 % vs 15 %)" at one,
# "(5 % vs 100 %)" at the other): the same claim of the paper, one row, whose label names
# each profile's setting
_SETTING = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass
class Row:
    kind: str  # "part", "chapter" or "claim"
    text: str
    experiment: str | None = None
    claims: dict = field(default_factory=dict)  # profile -> claim dict, for a claim row


def chapter_title(key: str) -> str:
    """The first heading of the chapter's notebook (``"Experiment 2: the α × T grid on
    CIFAR-10"``), or the key when the notebook cannot be read."""
    import json

    try:
        notebook = provenance.REPO_ROOT / "book" / chapters.BY_KEY[key].notebook
        first = "".join(json.loads(notebook.read_text())["cells"][0]["source"]).splitlines()[0]
        return first.lstrip("# ").strip() or key
    except (KeyError, OSError, ValueError, IndexError):
        return key


def short_label(text: str, width: int = 40) -> str:
    """A claim's text made to fit the label column: phrases the headers already say dropped,
    wrapped on two lines of about equal length (three if two cannot hold it)."""
    for long, short in _SHORTER:
        text = text.replace(long, short)
    # no break inside a short parenthesis: "(α, T)" stays on one line (no-break spaces); a
    # long one may break between its words, never inside a word; "5 %" stays together
    text = re.sub(r"\([^()]{1,14}\)", lambda m: m.group(0).replace(" ", "\u00a0"), text)
    text = text.replace(" %", "\u00a0%")
    if len(text) <= width:
        return text
    # lines of about equal length read better than a long line and an orphan word: two if
    # they can hold it, else three
    for count in (2, 3):
        for balanced in range(-(-len(text) // count), width + 1):
            lines = textwrap.wrap(text, balanced, break_long_words=False)
            if len(lines) <= count and max(map(len, lines)) <= width:
                return "\n".join(lines)
    return "\n".join(textwrap.wrap(text, width, max_lines=3, placeholder=" …", break_long_words=False))


def forest_rows(by_profile: dict, profiles=("converged", "cpu")) -> list[Row]:
    """The rows of the plot in order: a header per part with claims, a header per chapter
    with claims, then one row per claim with its claim dict at each profile that ran it.

    Within a chapter a claim keeps its place in each profile's order (chapter 3's 2 % fraction,
    run only at ``cpu``, comes before the 5 % one both ran)."""
    shown = [p for p in profiles if p in by_profile]
    rows: list[Row] = []
    for part in chapters.PARTS:
        keys = [c.key for c in chapters.CHAPTERS if c.part == part and c.builder is not None]
        chapter_rows = []
        for key in keys:
            claim_rows = _merged_claims(key, {p: by_profile[p].get(key, {}).get("results", {})
                                              .get("claims", []) for p in shown})
            if claim_rows:
                chapter_rows += [Row("chapter", chapter_title(key), key), *claim_rows]
        if chapter_rows:
            rows += [Row("part", PART_HEADERS.get(part, chapters.PARTS[part])), *chapter_rows]
    return rows


def _merged_claims(key: str, found: dict) -> list[Row]:
    order: list = []
    rows: dict = {}
    for profile, claims_ in found.items():
        stems = [_SETTING.sub("", c["claim"]) for c in claims_]
        previous = None
        for c, stem in zip(claims_, stems):
            # two claims of one chapter differing only in their parenthesis stay two rows
            name = stem if stems.count(stem) == 1 else c["claim"]
            if name not in rows:
                rows[name] = Row("claim", "", key)
                order.insert(order.index(previous) + 1 if previous is not None else 0, name)
            rows[name].claims[profile] = c
            previous = name
    for name, row in rows.items():
        texts = {c["claim"] for c in row.claims.values()}
        if len(texts) == 1:
            row.text = texts.pop()
        else:  # one row, but a reader must see that the profiles tested different settings
            settings = "; ".join(f"{profile}: {_SETTING.search(c['claim'])[0].strip()[1:-1]}"
                                 for profile, c in row.claims.items())
            row.text = f"{name} ({settings})"
    return [rows[name] for name in order]
