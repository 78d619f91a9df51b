"""What the forest plot (:mod:`kdhelpers.forest`) draws in a panel: our gain as a dot on its
interval, the paper's gain as a diamond, a note in a row without a dot, and the key."""

from __future__ import annotations

# Okabe-Ito green and vermillion: told apart with the common colour-vision deficiencies;
# grey for the verdicts that say nothing either way
VERDICT_COLOURS = {"holds": "#009E73", "does not hold": "#D55E00", "inconclusive": "#8C8C8C",
                   "not tested": "#555555"}
NOTE_COLOUR = "#6E6E6E"  # 'not run' notes: quieter than a verdict, still 4.5:1 on white
# larger than our dot and drawn under it, white inside: where the two agree our dot and its
# interval lie on the diamond, whole, and its top and bottom corners show around them (drawn
# above, a hollow diamond framed our dot, and an open dot inside it read as part of the frame)
PAPER_MARKER = dict(marker="D", markersize=9, markerfacecolor="white", markeredgecolor="black",
                    markeredgewidth=1.1, linestyle="none")
FONT = 9.5  # the smallest text: the figure is drawn at the book's column width (about 680 px)


# claims measured in another quantity than test accuracy (``kdhelpers.confidence``): written
# in their row, never on the axis of accuracy gains they would stretch (a teacher's +20 points
# of top-1 probability beside gains of 1-10 pp)
OTHER_MEASURES = {"top1": ("top-1 prob.", "pp"), "entropy": ("entropy", "nats")}


def on_axis(c: dict) -> bool:
    return c.get("measure") not in OTHER_MEASURES


def diamond_width(ax, xlim) -> float:
    """The paper's diamond's width in gain units, in the panel ``ax`` spanning ``xlim``."""
    return PAPER_MARKER["markersize"] / 72 / _inches_wide(ax) * (xlim[1] - xlim[0])


def _inches_wide(ax) -> float:
    return ax.get_position().width * ax.figure.get_figwidth()


def row_paper_gain(row, profile):
    """The paper's gain in ``row``'s ``profile`` panel: its claim's there, and in a panel whose
    profile did not run the claim, the one every other profile's claim gives (the paper's
    number does not depend on our profile; where the profiles tested different settings of
    it, their paper gains differ and none is drawn)."""
    if profile in row.claims:
        c = row.claims[profile]
        return c.get("paper_gain") if on_axis(c) else None
    gains = {c.get("paper_gain") if on_axis(c) else None for c in row.claims.values()}
    return gains.pop() if len(gains) == 1 else None


def draw_gain(ax, c: dict, y: float, text: str, *, lost: bool = False,
              on_diamond: bool = False) -> None:
    from matplotlib.patheffects import withStroke

    colour = VERDICT_COLOURS[c["verdict"]]
    if c.get("ci95") is not None:
        # above the paper's diamond (zorder 3.4)
        ax.plot(list(c["ci95"]), [y, y], color=colour, lw=2.4, solid_capstyle="butt", zorder=3.5,
                gid=f"ci:{text}")
    # an open dot: inconclusive (its interval includes zero, or there is none), or a verdict
    # the correction for its chapter's claims does not keep (``lost``)
    face = "white" if c["verdict"] == "inconclusive" or lost else colour
    # on the paper's diamond, a white halo parts the dot from its bar and the diamond: an open
    # dot stays open to the eye (elsewhere a halo would only cut the bar into stubs)
    ax.plot([c["gain"]], [y], marker="o", markersize=5.5, markerfacecolor=face,
            markeredgecolor=colour, markeredgewidth=1.4, linestyle="none", zorder=4,
            gid=f"gain:{text}",
            path_effects=[withStroke(linewidth=2.4, foreground="white")] if on_diamond else None)


def place_note(ax, y, note, colour, paper, xlim, *, at_left: bool = False, face="white") -> None:
    """Write a note in its row where it hides no paper diamond and, where it can, does not sit
    on the zero line: centred, else from the left or the right edge; ``at_left``: from the
    panel's left edge."""
    span = xlim[1] - xlim[0]
    where = [(x - xlim[0]) / span for x in paper]
    text = len(note) * FONT * 0.55 / 72 / _inches_wide(ax)  # the note's width, in panel widths
    marker = diamond_width(ax, xlim) / span  # a diamond's width, likewise
    zero = -xlim[0] / span

    def clear(low, high, of):
        return all(x + marker / 2 < low or x - marker / 2 > high for x in of)

    places = [(0.5, "center", 0.5 - text / 2, 0.5 + text / 2), (0.02, "left", 0.02, 0.02 + text),
              (0.98, "right", 0.98 - text, 0.98)]
    if at_left:
        x, ha = 0.02, "left"
    else:  # the first place clear of the diamonds and the zero line, else of the diamonds
        x, ha, _, _ = next((p for p in places if clear(p[2], p[3], where + [zero])),
                           next((p for p in places if clear(p[2], p[3], where)), places[0]))
    ax.text(x, y, note, transform=ax.get_yaxis_transform(), ha=ha, va="center",
            fontsize=FONT, fontstyle="italic", color=colour, gid="note", zorder=5,
            bbox=dict(boxstyle="square,pad=0.1", facecolor=face, edgecolor="none"))


def draw_legend(fig, compact: bool, top: float) -> None:
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    words = ({"holds": "holds", "does not hold": "does not hold", "inconclusive": "inconclusive"}
             if compact else
             {"holds": "holds: CI above 0", "does not hold": "does not hold: CI below 0",
              "inconclusive": "inconclusive: CI includes 0"})
    handles = [Line2D([], [], color=VERDICT_COLOURS[v], lw=2.4, marker="o", markersize=5.5,
                      markerfacecolor="white" if v == "inconclusive" else VERDICT_COLOURS[v],
                      markeredgewidth=1.4, label=label) for v, label in words.items()]
    handles.append(Line2D([], [], label="the paper\u2019s gain", **PAPER_MARKER))
    # open in its colour: a verdict the correction for its chapter's claims does not keep; one
    # entry showing both colours (a holds and a does-not-hold can each be lost)
    opened = tuple(Line2D([], [], color=VERDICT_COLOURS[v], lw=2.4, marker="o", markersize=5.5,
                          markerfacecolor="white", markeredgewidth=1.4)
                   for v in ("holds", "does not hold"))
    labels = [h.get_label() for h in handles] + [
        "open: lost after correction" if compact else "open green or orange: lost after correction"]
    fig.legend(handles=[*handles, opened], labels=labels, loc="upper center",
               ncol=4 if compact else 2, fontsize=FONT, frameon=False,
               bbox_to_anchor=(0.5, top), columnspacing=1.5, handlelength=2.2, borderaxespad=0,
               handler_map={tuple: HandlerTuple(ndivide=None, pad=0.3)})
