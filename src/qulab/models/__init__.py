"""Stage 2, models: the model families (scikit-learn and PyTorch) and what each exposes to an attacker."""
