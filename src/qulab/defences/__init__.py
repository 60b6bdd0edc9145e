"""Stage 4, defences: what a defender changes (training, inputs, outputs, certificates), each evaluated honestly.

One entry per defence in ``DEFENCES`` (:mod:`.spec`); the kinds' modules register theirs on import, in the order
the page and ``qulab list`` show them. A new defence is one entry made with the kind's helper
(``training_defence``, ``preprocessing_defence``, ``certification_defence``) and ``DEFENCES.register``.
"""

# The kinds register their entries on import, in the order the page and `qulab list` show them.
from qulab.defences.spec import (  # noqa: I001
    ADAPTIVE_WHITE_BOX,
    DEFENCES,
    KINDS,
    Defended,
    DefenceRun,
    DefenceSpec,
    ModelRequirement,
    Progress,
    Workload,
    defendable_models,
)
from qulab.defences.training import robust_logistic_regression, training_defence
from qulab.defences.preprocessing import AdaptiveCase, bpda_preprocessor, preprocessing_defence
from qulab.defences.certification import certification_defence
from qulab.defences.evaluate import (
    Baseline,
    DefenceOutcome,
    default_eps_grid,
    defence_kind,
    estimate_seconds,
    evaluate_defence,
    learned_estimate,
    parse_defence_params,
    record_times,
    undefended_baseline,
)

__all__ = ["ADAPTIVE_WHITE_BOX", "DEFENCES", "KINDS", "AdaptiveCase", "Baseline", "DefenceOutcome", "DefenceRun",
           "DefenceSpec", "Defended", "ModelRequirement", "Progress", "Workload", "bpda_preprocessor",
           "certification_defence", "default_eps_grid", "defendable_models", "estimate_seconds", "evaluate_defence",
           "defence_kind", "learned_estimate", "parse_defence_params", "record_times", "preprocessing_defence",
           "robust_logistic_regression", "training_defence", "undefended_baseline"]
