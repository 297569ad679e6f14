"""Catalogue-scale runs without glue: partitions of a catalogue, workers that read their
own cutouts, parts written as they finish, resume; in this process or on Dask.

* :func:`run_survey` (``glue-xai explain``): a catalogue file and its FITS files in, a
  table (FITS, Parquet, CSV, ECSV) and a cube of maps out, streamed and resumable;
* :func:`run_batch`: cutouts already in memory (what the glue catalogue action has);
* :func:`source_columns`, :func:`source_seed`: one source's columns and seed.
"""
from glue_xai.survey.batch import BatchResult, run_batch
from glue_xai.survey.columns import (MEASURE_METHOD, MEASURE_OPTIONS, PREFIX, STATUS, measurement_explanation,
                                     merge_columns, source_columns, source_seed)
from glue_xai.survey.run import SurveyInterrupted, SurveyResult, run_survey

__all__ = ["run_survey", "SurveyResult", "SurveyInterrupted", "run_batch", "BatchResult", "source_columns",
           "source_seed", "measurement_explanation", "merge_columns", "PREFIX", "STATUS", "MEASURE_METHOD",
           "MEASURE_OPTIONS"]
