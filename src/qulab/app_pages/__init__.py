"""Streamlit pages: each lays out widgets and calls the library; no logic of their own."""
