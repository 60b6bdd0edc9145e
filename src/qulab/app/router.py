"""The router: page config, the sidebar title and the navigation. Pages live in ``pages``."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"



def sections() -> dict[str, list[st.Page]]:
    """The navigation, section by section (built per run, as Streamlit expects)."""
    return {
        "Codelab": [
            st.Page(PAGES / "data_overview.py", title="Data Overview", icon=":material/table_chart:", default=True),
            st.Page(PAGES / "attack_demo.py", title="Attack Demo", icon=":material/bolt:"),
        ],
        "Lab": [
            st.Page(PAGES / "data_sets.py", title="Data Sets", icon=":material/dataset:", url_path="data-sets"),
            st.Page(PAGES / "attack_lab.py", title="Attack Lab", icon=":material/science:", url_path="attack-lab"),
            st.Page(PAGES / "robustness.py", title="Robustness", icon=":material/show_chart:", url_path="robustness"),
            st.Page(PAGES / "defences.py", title="Defences", icon=":material/security:", url_path="defences"),
        ],
    }


def main() -> None:
    st.set_page_config(page_title="QuLab", page_icon=":material/shield:", layout="wide")
    navigation = sections()
    current = st.navigation(navigation, position="hidden")
    # The sidebar is drawn after the page, so a rerun (an epsilon move) sends the page's changed elements first;
    # `finally` keeps it there when a page stops early (st.stop) to wait for a button.
    try:
        current.run()
    finally:
        with st.sidebar:
            st.title("QuLab")
            st.caption("An interactive lab for adversarial machine learning")
            for section, pages in navigation.items():
                st.subheader(section, divider="gray")
                for page in pages:
                    st.page_link(page)


if __name__ == "__main__":
    main()
