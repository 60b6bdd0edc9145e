"""QuLab: an interactive lab for adversarial machine learning."""
