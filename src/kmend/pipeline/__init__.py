"""`kmend run`: the whole pipeline (triage → locate → fixes → backport → build → check →
preflight → install) composed from the stage libraries.  See :mod:`kmend.pipeline.stages`."""

from kmend.pipeline.record import RunRecord, StageResult
from kmend.pipeline.stages import RunOptions, run_pipeline

__all__ = ["RunOptions", "RunRecord", "StageResult", "run_pipeline"]
