"""Stage 3, threats, one package per class of NIST AI 100-2's predictive-AI taxonomy.

``evasion``: the attacker perturbs inputs at test time (ART's evasion attacks and the exact linear ground truth).
"""
