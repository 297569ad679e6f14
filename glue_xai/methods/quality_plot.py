"""Drawing deletion and insertion curves into a matplotlib Axes (no Qt, no pyplot state)."""

DELETION_COLOUR = "#c0392b"
INSERTION_COLOUR = "#2471a3"


def plot_quality_curves(ax, summary, title=None):
    """Draw the deletion and insertion curves of :func:`~glue_xai.methods.metrics.quality_summary`
    (or a dict with "deletion" and/or "insertion" curves) into ``ax``; returns ``ax``.

    Areas are in the legend: low deletion and high insertion area = a faithful map.
    """
    for key, colour, label in (("deletion", DELETION_COLOUR, "deletion"),
                               ("insertion", INSERTION_COLOUR, "insertion")):
        curve = summary.get(key)
        if curve is None:
            continue
        ax.plot(curve["fractions"], curve["probabilities"], color=colour, lw=1.5,
                label=f"{label} (area {curve['area']:.2f})")
        ax.fill_between(curve["fractions"], curve["probabilities"], color=colour, alpha=0.12, lw=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("fraction of pixels removed / added" if summary.get("deletion", {}).get("support") != "changed"
                  else "fraction of non-empty pixels removed / added")
    ax.set_ylabel("probability of explained class")
    stab = summary.get("stability")
    if title is None and stab is not None:
        title = f"top-{stab['top_k']:g} {stab['level']} agreement across seeds: {stab['mean_jaccard']:.2f}"
    if title:
        ax.set_title(title, fontsize="small")
    ax.legend(loc="best", fontsize="small", frameon=False)
    return ax
