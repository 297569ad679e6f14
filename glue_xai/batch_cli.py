"""Moved to :mod:`glue_xai.survey.cli` (kept so existing imports work)."""
from glue_xai.survey.cli import ProgressBar, add_arguments, run_explain  # noqa: F401
