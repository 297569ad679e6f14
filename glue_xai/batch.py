"""Moved to :mod:`glue_xai.survey` (kept so existing imports work)."""
from glue_xai.survey.batch import DEFAULT_CHUNK, BatchResult, explain_chunk, run_batch  # noqa: F401
from glue_xai.survey.columns import *  # noqa: F401,F403
from glue_xai.survey.columns import (SFNET_FEATURE, emission_mask, measurement_explanation,  # noqa: F401
                                     merge_columns, missing_value, prediction_columns, relevance_shares,
                                     source_columns, source_seed)
from glue_xai.survey.compute import model_once as _model  # noqa: F401
