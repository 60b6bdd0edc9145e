"""Stage 5, evaluation: the experiment run end to end (split → model → threat → metrics), curves over budgets."""
