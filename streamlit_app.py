"""Streamlit entry point: `streamlit run streamlit_app.py` (or `make run`, or `qulab app`)."""

from qulab.app.router import main

main()
