"""Poisoning (NIST AI 100-2): the attacker writes into part of the training data before the model learns from it.

The pieces, one module each:

- :mod:`.experiment` — :class:`PoisoningScenario`, the frozen experiment value (validate, dict/JSON/URL round trips);
- :mod:`.attacks` — :data:`POISONING_ATTACKS`, :class:`PoisoningAttackSpec`, :class:`Poisoned` (how to add one);
- :mod:`.defences` — :data:`POISONING_DEFENCES`, :class:`PoisoningDefenceSpec`, :class:`Flagged` (how to add one);
- :mod:`.run` — :func:`run_poisoning` and :func:`rate_curve`, the flow the page and ``qulab poison`` share.

Entries live in their own modules, imported below so they register in the order pages and ``qulab list`` show
them; a new one is a module with its ``register`` calls and one import line here.
"""

# Entries register on import, in the order the page shows them (add a line for a new module; keep the order).
from qulab.threats.poisoning import label_flip  # noqa: I001, F401
from qulab.threats.poisoning import backdoor  # noqa: F401
from qulab.threats.poisoning import clean_label  # noqa: F401
from qulab.threats.poisoning import svm_attack  # noqa: F401
from qulab.threats.poisoning import sanitise  # noqa: F401
from qulab.threats.poisoning import detectors  # noqa: F401
