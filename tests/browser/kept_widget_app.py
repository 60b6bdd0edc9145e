"""A tiny app for the kept-widget browser test: a kept slider below a checkbox that stops the page early, so the
slider is missing from some runs, as widgets below a page's st.stop() are."""

import streamlit as st

from qulab.app.widgets import kept_widget

if st.checkbox("Stop early", key="stop_early"):
    st.stop()
value = kept_widget(lambda k: st.slider("Level", 0, 10, key=k), "level", 5)
st.write(f"Level is {value}")
