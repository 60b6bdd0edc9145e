"""Privacy (NIST AI 100-2): what a model gives away about its training data and about itself.

``experiment``: the :class:`PrivacyScenario`; ``attacks``: the registry of attacks and the interface an entry
implements (read its docstring to add one); ``mitigations``: the registry of mitigations; ``run``: the flow;
``membership``: membership inference; ``dp``: DP-SGD training with Opacus.
"""

# The registry first, whichever entry module is imported: it imports the entry modules in its own order, so the
# page, `qulab list` and the CLI list the attacks in one order however the process came to import them.
from qulab.threats.privacy import attacks  # noqa: E402, F401
