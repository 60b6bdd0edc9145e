"""Stage 4, defences: what a defender changes (training, inputs, outputs, certificates), each evaluated honestly."""
