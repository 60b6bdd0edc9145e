"""QuLab: an interactive lab for adversarial machine learning.

The library (everything here except ``app``) never imports Streamlit:
widgets and CLI flags build a :class:`~qulab.core.experiment.Scenario`, pure functions turn it into results,
and figure builders turn results into Plotly figures.
"""

__version__ = "0.1.0"
