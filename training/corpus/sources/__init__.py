"""Source readers: one function per raw set, each returning unified records and notes for its card.

Every reader takes the raw data folder (the one holding `newsmtsc/`, `babe/`, ...) and returns
`(records, notes)`; notes is a dict of counts (what was skipped and why) that goes into the card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import bias, frames, stance_claims, stance_entities, techniques


@dataclass(frozen=True)
class Source:
    task: str
    name: str
    folder: str
    read: Callable


SOURCES: tuple[Source, ...] = (
    Source("stance", "newsmtsc", "newsmtsc", stance_entities.read_newsmtsc),
    Source("stance", "persent", "persent", stance_entities.read_persent),
    Source("stance", "ukp", "ukp_sentential_argmin", stance_claims.read_ukp),
    Source("stance", "ibm", "ibm_claim_stance", stance_claims.read_ibm),
    Source("stance", "gwstance", "gwstance", stance_claims.read_gwstance),
    Source("stance", "semeval2016", "semeval2016_stance_tweeteval", stance_claims.read_semeval2016),
    Source("stance", "vast", "vast_zero_shot_stance", stance_claims.read_vast),
    Source("stance", "emergent", "emergent_headline_stance", stance_claims.read_emergent),
    Source("stance", "finentity", "finentity", stance_entities.read_finentity),
    Source("stance", "park2021", "directed_sentiment_news_park2021", stance_entities.read_park2021),
    Source("frames", "semeval2023", "semeval2023_task3_en", frames.read_semeval2023_frames),
    Source("frames", "gvfc", "gvfc", frames.read_gvfc),
    Source("frames", "ccf", "ccf_canadian_climate_framing", frames.read_ccf),
    Source("frames", "frermann", "narrative_framing_frermann2023", frames.read_frermann),
    Source("frames", "issue_framing", "issue_framing_tweets_forums", frames.read_issue_framing),
    Source("techniques", "semeval2023", "semeval2023_task3_en", techniques.read_semeval2023_techniques),
    Source("techniques", "ptc", "ptc_semeval2020_task11", techniques.read_ptc),
    Source("bias", "babe", "babe", bias.read_babe),
    Source("bias", "babe_sg1", "babe", bias.read_babe_sg1),
    Source("bias", "mbic", "babe", bias.read_mbic),
    Source("bias", "npov", "npov_statements_hube2019", bias.read_npov),
    Source("bias", "checkthat", "checkthat_subjectivity_en", bias.read_checkthat),
)
