"""The router: page config, the sidebar title and the navigation. Pages live in ``pages``."""

from pathlib import Path

import streamlit as st

from qulab.app import running, warm_up

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
            st.Page(PAGES / "poisoning.py", title="Poisoning", icon=":material/coronavirus:", url_path="poisoning"),
            st.Page(PAGES / "privacy.py", title="Privacy", icon=":material/visibility_off:", url_path="privacy"),
            st.Page(PAGES / "runs.py", title="Runs", icon=":material/history:", url_path="runs"),
        ],
    }


def sidebar(navigation: dict[str, list[st.Page]]) -> None:
    """Title, caption, page links and the run limits, drawn before the page so they show while it computes."""
    with st.sidebar:
        st.title("QuLab")
        st.caption("An interactive lab for adversarial machine learning")
        for section, pages in navigation.items():
            st.subheader(section, divider="gray")
            for page in pages:
                st.page_link(page)
        running.run_limits()


def main() -> None:
    st.set_page_config(page_title="QuLab", page_icon=":material/shield:", layout="wide")
    navigation = sections()
    current = st.navigation(navigation, position="hidden")
    sidebar(navigation)
    warm_up.start()
    current.run()


if __name__ == "__main__":
    main()
