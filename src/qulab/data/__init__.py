"""Stage 1, data: built-in data sets, validated CSV uploads, the train/test split and scaling, and views of the data."""
