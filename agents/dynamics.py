"""How agents change from month to month, beside the roles' decision rules: capabilities grow with
training, publicity and investment, and trust on links follows what happens on them (docs/ODD.md
section 3).  The model applies these to every agent and link, the mean field
(``simulation/analyses/mean_field/``) to its representative agents and expected counts.
"""

from __future__ import annotations

import numpy as np

from agents.incentives import Levers
from simulation.config import Parameters


def grown_capabilities(p: Parameters, rates, public: np.ndarray, cognition: np.ndarray, technology: np.ndarray,
                       security: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, ...]:
    """One month of training, publicity and investment (each closes its share of the gap to 1) and of
    quality's gain from technology against ageing (docs/ODD.md section 3, step 2); ``public`` marks
    the rows of ``cognition`` that publicity reaches rather than training.  Training also builds
    holders' capability (``training_capability`` of its rate closes the technology gap: quality up,
    remediation down).  The model applies it to every agent, the mean field to its representative
    agents."""
    rate = np.where(public, rates.publicity, rates.training)
    cognition = cognition + rate * (1.0 - cognition)
    technology_rate = min(1.0, rates.technology + p.training_capability * rates.training)
    technology = technology + technology_rate * (1.0 - technology)
    security = security + rates.security * (1.0 - security)
    quality = quality + (p.technology_quality_gain * technology * (1.0 - quality) - p.quality_decay * quality)
    return cognition, technology, security, quality


def updated_trust(p: Parameters, lv: Levers, trust: np.ndarray, answered: np.ndarray, refused: np.ndarray,
                  hit: np.ndarray, vouched: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Trust on links after a month (docs/ODD.md section 3, step 6): ``answered`` requests answered
    in time each close ``trust_gain`` (more with transparency) of the gap to 1, ``refused`` ones
    each take ``trust_loss`` of it, an incident at either end (``hit``) takes ``incident_trust_loss``,
    the authority lifts links it arbitrated (``vouched``) to its vouched trust, and every link drifts
    toward its ``prior``.  The model passes counts and flags; the mean field passes expected counts
    and chances (an expected mixture of the hit and unhit, vouched and unvouched outcomes)."""
    trust = np.array(trust, dtype=float)
    gain = min(1.0, p.trust_gain * (1.0 + lv.transparency))
    for count, update in ((answered, lambda k, x: 1.0 - (1.0 - x) * (1.0 - gain) ** k),
                          (refused, lambda k, x: x * (1.0 - p.trust_loss) ** k)):
        count = np.broadcast_to(count, trust.shape)
        touched = np.flatnonzero(count)  # powers only where something happened
        trust.flat[touched] = update(count.flat[touched], trust.flat[touched])
    if hit.dtype == bool:
        trust = np.where(hit, trust * (1.0 - p.incident_trust_loss), trust)
    else:
        trust = trust * (1.0 - p.incident_trust_loss * hit)
    lifted = np.maximum(trust, lv.vouched_trust)
    trust = np.where(vouched, lifted, trust) if vouched.dtype == bool else trust + vouched * (lifted - trust)
    return trust + p.trust_decay * (prior - trust)
