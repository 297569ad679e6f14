"""Moved to :mod:`glue_xai.survey.output` (kept so existing imports work)."""
from glue_xai.survey.output import *  # noqa: F401,F403
