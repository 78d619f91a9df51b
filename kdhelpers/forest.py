"""The scorecard as one figure: a forest plot of every claim of the book.

One row per claim, grouped by chapter (the paper's chapters, then those beyond it), one
panel per profile side by side on a shared x axis (the first profile, ``converged`` by
default, on the left as the headline). In a panel, our gain is a dot with its 95 % CI as a
horizontal bar, both coloured by the verdict (:data:`kdhelpers.claims.VERDICTS`; an
inconclusive dot is open), and the paper's gain an open black diamond; a claim the profile
did not run, or did not test, is a note in its row instead of a dot, beside the paper's
diamond in either case. A claim whose setting differs between profiles only in a trailing
parenthesis ("(T=8 vs T=2)" at one, "(T=8 vs T=4)" at the other) is one row, named without it.

:func:`forest_plot` draws it (``compact=True``: chapter names instead of claim texts, to head
a page); :func:`forest_rows` is the list of rows it draws, in order; the marks in a panel are
:mod:`kdhelpers.forest_marks`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import claims
from .forest_marks import (FONT, NOTE_COLOUR, OTHER_MEASURES, PAPER_MARKER, VERDICT_COLOURS,  # noqa: F401
                           diamond_width, draw_gain, draw_legend, on_axis, place_note,
                           row_paper_gain)
from .forest_rows import PART_HEADERS, Row, chapter_title, forest_rows, short_label  # noqa: F401
# a figure's texts with typographic apostrophes, as Sphinx gives the page around it
from .report import typographic_apostrophes as _curly

BAND = "#EDEDED"  # behind a chapter's header
NOTE_BAND = "#F4F4F4"  # behind the rows one note stands for: lighter than a header's band


@dataclass(frozen=True)
class Layout:
    """Sizes in inches; :data:`FULL` for the scorecard, :data:`COMPACT` to head a page
    (chapter names only, no claim text)."""
    # 680 px at 100 dpi: the book's text column (676-690 px at a 1280 px window) shows it at
    # its own size, so FONT is the size a reader sees
    width: float = 6.8
    labels: float = 2.7  # the label column
    label_chars: int = 36  # where a claim's label wraps (see short_label)
    claim: float = 0.2  # row pitch of a one-line claim; each further line adds `line`
    line: float = 0.15
    chapter: float = 0.27
    part: float = 0.33
    top: float = 1.7  # title, (FULL) legend, panel titles and (FULL) the scale above the rows
    bottom: float = 0.75  # ticks, x label and (COMPACT) legend
    # the key above the rows, where a reader of a figure taller than the screen starts
    legend_at_top: bool = True
    # the headline panel's share of the panels' width: the converged gains (a few pp, with
    # intervals under 1 pp) need more room than the cpu ones (tens of pp, wide intervals)
    headline_share: float = 0.58
    compact: bool = False


FULL = Layout()
COMPACT = Layout(labels=1.3, claim=0.15, chapter=0.08, part=0.3, top=0.8, bottom=1.05,
                 legend_at_top=False, compact=True)


def forest_plot(by_profile: dict, profiles=("converged", "cpu"), *, compact: bool = False,
                layout: Layout | None = None):
    """The forest plot of :func:`forest_rows` as a matplotlib Figure, one panel per profile
    of ``profiles`` that has results (the first on the left: the headline). ``compact``: the
    same data under chapter names only, to head a page; the scorecard's figure names every
    claim."""
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    layout = layout or (COMPACT if compact else FULL)
    shown = [p for p in profiles if p in by_profile]
    if not shown:
        raise ValueError(f"no results at any of the profiles {list(profiles)}")
    rows = forest_rows(by_profile, shown)
    heights = [_pitch(row, layout) for row in rows]
    ys, total = [], 0.0
    for h in heights:  # y: inches from the top of the rows, at the row's centre
        ys.append(total + h / 2)
        total += h
    fig = plt.figure(figsize=(layout.width, layout.top + total + layout.bottom))
    height = fig.get_figheight()
    bottom, top = layout.bottom / height, (layout.bottom + total) / height
    # an axes as wide as the figure, behind the panels: the chapters' bands, and the rows' y
    # for the labels
    back = fig.add_axes((0, bottom, 1, top - bottom), zorder=0)
    back.set_axis_off()
    back.set_ylim(total, 0)
    gap, right = 0.18, 0.15
    axes, left = [], layout.labels
    for width in _panel_widths(layout.width - layout.labels - right - gap * (len(shown) - 1),
                               len(shown), layout.headline_share):
        ax = fig.add_axes((left / layout.width, bottom, width / layout.width, top - bottom), zorder=1)
        left += width + gap
        ax.set_facecolor("none")
        ax.set_ylim(total, 0)
        axes.append(ax)
    # each panel on its own scale: the cpu profile's gains (up to ~20 pp) would otherwise
    # shrink the converged intervals (about ±0.5 pp) to a few pixels
    # a verdict that a correction for its chapter's number of claims turns inconclusive is
    # drawn open in its colour: it holds (or fails) only on its own interval
    lost = {id(c) for p in shown for result in by_profile[p].values()
            for c, _ in claims.correction_changes(result.get("results", {}).get("claims", []))}
    for ax, profile in zip(axes, shown):
        _draw_panel(ax, rows, ys, heights, profile, _x_range(rows, [profile]), layout,
                    headline=ax is axes[0], lost=lost)
    # labels are figure texts (x in inches from the left, y the rows'): drawn above the
    # panels, so a chapter's title may run across them on its band
    at = blended_transform_factory(fig.dpi_scale_trans, back.transData)
    _draw_labels(fig, back, at, rows, ys, heights, layout)
    middle = (layout.labels + layout.width - right) / 2 / layout.width
    fig.text(middle, (layout.bottom - 0.45) / height, "gain over the comparison, percentage points",
             ha="center", va="center", fontsize=FONT)
    names = " and ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)
    title = (f"{'The claims' if layout.compact else 'Every claim'} at the {names} "
             f"profile{'s' if len(shown) > 1 else ''}")
    fig.text(0.08 / layout.width, 1 - 0.1 / height, title, ha="left", va="top",
             fontsize=FONT + 1.5, fontweight="bold", gid="title")
    fig.text(0.08 / layout.width, 1 - 0.33 / height,
             "our gain (dot) with its 95 % CI (bar), the paper\u2019s gain (diamond); "
             "each panel on its own scale",
             ha="left", va="top", fontsize=FONT)
    draw_legend(fig, layout.compact, 1 - 0.58 / height if layout.legend_at_top else (layout.bottom - 0.62) / height)
    return fig


def _panel_widths(room: float, count: int, headline_share: float) -> list[float]:
    """The panels' widths in ``room`` inches: the headline's ``headline_share`` of it, the
    others the rest in equal parts (one panel: all of it)."""
    if count == 1:
        return [room]
    rest = room * (1 - headline_share) / (count - 1)
    return [room * headline_share] + [rest] * (count - 1)


def _pitch(row: Row, layout: Layout) -> float:
    if row.kind == "part":
        return layout.part
    if row.kind == "chapter":
        return layout.chapter
    if layout.compact:
        return layout.claim
    return layout.claim + layout.line * short_label(row.text, layout.label_chars).count("\n")


def _draw_labels(fig, back, at, rows, ys, heights, layout: Layout) -> None:
    for i, (row, y, h) in enumerate(zip(rows, ys, heights)):
        if row.kind == "part":
            fig.text(0.08, y + h / 2 - 0.05, _curly(row.text), transform=at, ha="left", va="bottom",
                     fontsize=FONT + 1, fontweight="bold", gid="part")
        elif row.kind == "chapter":
            back.axhspan(y - h / 2, y + h / 2, color=BAND, lw=0)
            if not layout.compact:
                fig.text(0.08, y, _curly(row.text), transform=at, ha="left", va="center",
                         fontsize=FONT, fontweight="bold", gid="chapter")
                continue
            # compact: the chapter's name before its colon ("Experiment 3") beside its rows
            span = []
            for following, yy in zip(rows[i + 1:], ys[i + 1:]):
                if following.kind != "claim":
                    break
                span.append(yy)
            fig.text(0.08, (span[0] + span[-1]) / 2, row.text.split(":")[0], transform=at,
                     ha="left", va="center", fontsize=FONT, fontweight="bold", gid="chapter")
            half = layout.claim / 2 - 0.02
            back.plot([layout.labels - 0.1] * 2, [span[0] - half, span[-1] + half], color="#999999",
                      lw=1.2, transform=at)
        elif not layout.compact:
            fig.text(0.2, y, _curly(short_label(row.text, layout.label_chars)), transform=at, ha="left",
                     va="center", fontsize=FONT, linespacing=1.05, gid="label")


def _x_range(rows, shown) -> tuple[float, float]:
    values = [0.0]
    for row in rows:
        for profile, c in row.claims.items():
            if profile not in shown or not on_axis(c):
                continue
            if c.get("paper_gain") is not None:
                values.append(c["paper_gain"])
            if c.get("tested", True) and c.get("gain") is not None:
                values += [c["gain"], *(c.get("ci95") or [])]
    low, high = min(values), max(values)
    pad = 0.05 * (high - low or 1.0)
    return low - pad, high + pad


def _draw_panel(ax, rows, ys, heights, profile, xlim, layout: Layout, *, headline: bool,
                lost=frozenset()) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(*xlim)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    ax.axvline(0, color="black", lw=0.9, zorder=1)
    ax.grid(axis="x", color="#DDDDDD", lw=0.7)
    ax.set_axisbelow(True)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=FONT)
    if not layout.compact:  # the scorecard is taller than a screen: its scale at the top too
        ax.tick_params(axis="x", top=True, labeltop=True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(profile + (" (headline)" if headline and not layout.compact else ""),
                 fontsize=FONT + 0.5, fontweight="bold", pad=4, gid="profile")
    notes = []  # [first row, last row, text, colour, paper gains in those rows]
    # a dot closer than half a diamond's width to the paper's gain sits on its diamond
    diamond_half_width = diamond_width(ax, xlim) / 2
    for i, (row, y, h) in enumerate(zip(rows, ys, heights)):
        if row.kind != "claim":  # a band hides the zero line and grid behind a header
            ax.axhspan(y - h / 2, y + h / 2, color=BAND if row.kind == "chapter" else "white",
                       lw=0, zorder=1.5)
        if row.kind != "claim":
            continue
        c = row.claims.get(profile)
        paper_gain = row_paper_gain(row, profile)
        if paper_gain is not None:
            # the compact figure's rows are closer: a smaller diamond keeps to its own row
            ax.plot([paper_gain], [y], zorder=3.4, gid=f"paper:{row.text}",
                    **{**PAPER_MARKER, **({"markersize": 7} if layout.compact else {})})
        if c is None:
            # the panel's title names the profile; short, the note keeps clear of the diamonds
            note, colour = "not run", NOTE_COLOUR
        elif not c.get("tested", True):
            note, colour = "not tested", VERDICT_COLOURS["not tested"]
        elif c.get("gain") is None:
            note, colour = "no gain measured", VERDICT_COLOURS[c["verdict"]]
        elif not on_axis(c):
            name, unit = OTHER_MEASURES[c["measure"]]
            gain = f"{c['gain']:+.2f}".replace("-", "\u2212")  # as the tables print it; a true minus
            note = f"{name} {gain} {unit}"
            colour = VERDICT_COLOURS[c["verdict"]]
        else:
            draw_gain(ax, c, y, row.text, lost=id(c) in lost,
                       on_diamond=paper_gain is not None
                       and abs(c["gain"] - paper_gain) < diamond_half_width)
            continue
        paper = [] if paper_gain is None else [paper_gain]
        # the same note in consecutive rows of a chapter is written once, across them
        if notes and notes[-1][1] == i - 1 and notes[-1][2] == note:
            notes[-1][1] = i
            notes[-1][4] += paper
        else:
            # a gain in another measure starts at the panel's left edge: centred, its place
            # would read as a value on the accuracy axis
            notes.append([i, i, note, colour, paper, c is not None and not on_axis(c)])
    for first, last, note, colour, paper, at_left in notes:
        if last > first:  # one note for several rows: a faint band shows which rows it is for
            ax.axhspan(ys[first] - heights[first] / 2 + 0.02, ys[last] + heights[last] / 2 - 0.02,
                       color=NOTE_BAND, lw=0, zorder=0.5, gid=f"note band:{note}")
        place_note(ax, (ys[first] + ys[last]) / 2, note, colour, paper, xlim, at_left=at_left,
                    face=NOTE_BAND if last > first else "white")
