"""Data Overview: the codelab's synthetic X/Y/Category/Time data, its table and two charts."""

import streamlit as st

from qulab.data.datasets import make_overview_frame
from qulab.figures.codelab import build_overview_scatter, build_time_series

st.title("Data Overview")
st.markdown(
    "Before attacking a model, look at the data it learns from. Adversarial perturbations are measured in "
    "the units of the features, so knowing their ranges, their relationships and how the classes are laid out "
    "tells you what a *small* change is, and where a model is likely to be fragile: close to the boundary "
    "between the groups.")
st.markdown(
    "This synthetic data set is generated with NumPy: **X** is drawn from a standard normal distribution, "
    "**Y** is 2·X plus Gaussian noise, **Category** is *PositiveX* or *NegativeX* from the sign of X, and "
    "**Time** is a daily date series.")


@st.cache_data(max_entries=4)
def overview_frame():
    return make_overview_frame()


frame = overview_frame()
st.subheader("The first rows")
st.dataframe(frame.head(10), hide_index=True, column_config={
    "Time": st.column_config.DateColumn("Time", format="YYYY-MM-DD")})
st.caption(f"{len(frame)} rows in all; hover over the charts to see individual values.")
left, right = st.columns(2)
left.plotly_chart(build_overview_scatter(frame), width="stretch")
right.plotly_chart(build_time_series(frame), width="stretch")
st.caption("Next: the **Attack Demo** page (in the sidebar) trains a logistic regression on two features like "
           "these and moves its test points across the boundary with FGM.")
