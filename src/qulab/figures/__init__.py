"""Stage 6, figures: pure Plotly builders from results; no Streamlit."""
