"""The case study's three attention patterns, each tested by one stated rule.

1. **Recency** for short sessions: on short prefixes (3-7 clicks, every behaviour) the last
   click gets at least ``LIFT`` times its uniform share (1/L).
2. **First-and-last anchoring** for comparison sessions: on comparison prefixes of 8 or more
   clicks, the first and the last click each get at least ``LIFT`` times the uniform share,
   and both get more than the mean middle click.
3. **Near-uniform** for deep dives: on deep-dive prefixes of 8 or more clicks, the mean
   normalised entropy is at least ``NEAR_UNIFORM`` (1 = uniform) and no lower than any
   other behaviour's on the same lengths.

Claims 2 and 3 need behaviour labels (generated data); on a click log they are not tested
(``holds`` is None).
"""

from __future__ import annotations

from typing import Any

from streamrec.model.explain.profile import ALL, AttentionProfile, summarise

LIFT = 1.5
NEAR_UNIFORM = 0.95
LONGER = "8+"  # prefixes of 8 or more clicks: the medium and long buckets


def _longer(profile: AttentionProfile, behavior: str) -> dict[str, Any]:
    cells = profile.select(behavior, "medium") + profile.select(behavior, "long")
    return summarise(cells, profile.max_len)


def _untested(claim: str, why: str) -> dict[str, Any]:
    return {"claim": claim, "holds": None, "rule": why, "evidence": {}}


def recency(profile: AttentionProfile) -> dict[str, Any]:
    """Claim 1 on ``profile``'s short prefixes."""
    short = profile.summary(ALL, "short")
    last = short["last_click"]
    return {
        "claim": "recency: short sessions attend to their last clicks",
        "holds": bool(short["n_prefixes"]) and last["lift"] >= LIFT,
        "rule": f"short prefixes (3-7), all behaviours: last-click share >= {LIFT} x uniform",
        "evidence": {
            "n_prefixes": short["n_prefixes"],
            "last_click": last,
            "last_3": short["last_3"],
            "peak_on_last": short["peak_on_last"],
        },
    }


def anchoring(profile: AttentionProfile) -> dict[str, Any]:
    """Claim 2 on ``profile``'s comparison prefixes of 8 or more clicks."""
    claim = "anchoring: comparison sessions attend to their first and last clicks"
    if "comparison" not in profile.behaviors:
        return _untested(claim, "needs behaviour labels (generated data)")
    longer = _longer(profile, "comparison")
    first, last, middle = (longer[k] for k in ("first_click", "last_click", "middle_per_click"))
    holds = (
        bool(longer["n_prefixes"])
        and min(first["lift"], last["lift"]) >= LIFT
        and min(first["attention"], last["attention"]) > middle["attention"]
    )
    return {
        "claim": claim,
        "holds": holds,
        "rule": f"comparison prefixes of {LONGER} clicks: first and last click each >= {LIFT} "
        "x uniform and above the mean middle click",
        "evidence": {
            "n_prefixes": longer["n_prefixes"],
            "first_click": first,
            "last_click": last,
            "middle_per_click": middle,
            "first_click_lift_by_behavior": {
                b: _longer(profile, b)["first_click"]["lift"] for b in profile.behaviors
            },
        },
    }


def near_uniform(profile: AttentionProfile) -> dict[str, Any]:
    """Claim 3 on ``profile``'s deep-dive prefixes of 8 or more clicks."""
    claim = "near-uniform: deep-dive sessions spread attention evenly"
    if "deep_dive" not in profile.behaviors:
        return _untested(claim, "needs behaviour labels (generated data)")
    entropy = {b: _longer(profile, b)["normalised_entropy"]["attention"] for b in profile.behaviors}
    mine = entropy["deep_dive"]
    others = [v for b, v in entropy.items() if b != "deep_dive"]
    return {
        "claim": claim,
        "holds": bool(mine >= NEAR_UNIFORM and all(mine >= v for v in others)),
        "rule": f"deep-dive prefixes of {LONGER} clicks: normalised entropy >= {NEAR_UNIFORM} "
        "and no lower than any other behaviour's",
        "evidence": {
            "n_prefixes": _longer(profile, "deep_dive")["n_prefixes"],
            "normalised_entropy_by_behavior": entropy,
        },
    }


def check_claims(profile: AttentionProfile) -> list[dict[str, Any]]:
    """The three claims' verdicts, in the case study's order."""
    return [recency(profile), anchoring(profile), near_uniform(profile)]
