"""Evasion: small input perturbations, crafted at test time, that change the model's decision."""
