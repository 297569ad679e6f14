"""The "Quality" box of the XAI viewer's options: faithfulness and stability on demand."""
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy import QtWidgets

from glue_xai.methods.quality_plot import plot_quality_curves

__all__ = ["QualityPanel", "describe_quality"]


def describe_quality(summary):
    """One short paragraph of the numbers a person should look at."""
    deletion, insertion = summary["deletion"]["area"], summary["insertion"]["area"]
    lines = [f"deletion area {deletion:.3f} (lower = more faithful)",
             f"insertion area {insertion:.3f} (higher = more faithful)"]
    stability = summary.get("stability")
    if stability:
        lines.append(f"stability across seeds {list(stability.get('seeds', []))}: "
                     f"top-5% agreement (Jaccard) {stability['mean_jaccard']:.2f}")
    lines.append(f"{summary['n_model_evals']} model evaluations")
    return "\n".join(lines)


class QualityPanel(QtWidgets.QGroupBox):
    """A "Measure quality" button, the numbers, and a small plot of the two curves."""

    def __init__(self, parent=None):
        super().__init__("Explanation quality", parent)
        layout = QtWidgets.QVBoxLayout(self)
        self.button_measure = QtWidgets.QPushButton("Measure quality")
        self.button_measure.setToolTip("Deletion and insertion curves and stability across seeds of the "
                                       "shown explanation (costs model evaluations)")
        self.button_compare = QtWidgets.QPushButton("Compare methods")
        self.button_compare.setToolTip("Every method's map of the shown region side by side, with its on-source "
                                       "share, deletion area, randomisation check and time, and how far the "
                                       "methods agree (opens a window; runs in the background)")
        self.text = QtWidgets.QLabel("Not measured yet.")
        self.text.setWordWrap(True)
        self.figure = Figure(figsize=(3.0, 2.0), dpi=90)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(150)
        self.canvas.setVisible(False)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.button_measure)
        buttons.addWidget(self.button_compare)
        layout.addLayout(buttons)
        layout.addWidget(self.text)
        layout.addWidget(self.canvas)

    def show_message(self, message):
        self.text.setText(message)
        self.canvas.setVisible(False)

    def show_summary(self, summary, title=""):
        self.text.setText(describe_quality(summary))
        self.figure.clear()
        ax = self.figure.add_subplot(111)
        plot_quality_curves(ax, summary, title=title or None)
        # The panel is narrow: small type keeps the axis labels inside it.
        for text in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
            text.set_fontsize(7)
        if ax.get_legend() is not None:
            for text in ax.get_legend().get_texts():
                text.set_fontsize(7)
        self.figure.tight_layout()
        self.canvas.setVisible(True)
        self.canvas.draw_idle()
