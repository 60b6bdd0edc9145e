"""What every stage shares: declarative registries and parameters, the experiment value, and seeded randomness."""
