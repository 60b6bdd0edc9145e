"""The Streamlit app: router, session state, caches, shared widgets and the pages. The only Streamlit user."""
