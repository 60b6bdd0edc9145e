"""Attack Demo: the codelab's FGM attack on logistic regression, with an epsilon slider."""

import streamlit as st

from qulab.app.caches import attack_outcome, trained_model
from qulab.app.widgets import param_widget
from qulab.core.experiment import Scenario
from qulab.core.wording import accuracy_text, article, sentence_start
from qulab.figures.codelab import build_attack_scatter
from qulab.models.registry import MODELS, binary_boundary
from qulab.threats.evasion.attacks import ATTACKS, EPSILON

BASE = Scenario()  # the codelab's set-up: synthetic X1/X2, logistic regression, FGM (L∞)
attack, model_spec = ATTACKS.get(BASE.attack), MODELS.get(BASE.model)

st.title("Attack Demo")
st.markdown(
    f"{sentence_start(article(model_spec.in_text))} **{model_spec.in_text}** is trained on a synthetic "
    f"two-feature data set (**X1**, **X2**, 80 % train / 20 % test). The **{attack.label}** from the Adversarial "
    "Robustness Toolbox (ART) then moves every test point by at most **epsilon** in each feature, in the "
    "direction that increases the model's loss. Move the slider and watch the accuracy fall and points cross "
    "the decision boundary.")


@st.fragment
def attack_view() -> None:
    """The slider and everything it drives: an epsilon move reruns only this, not the page and the sidebar."""
    eps = param_widget(EPSILON, key="eps")
    scenario = BASE.with_eps(eps)
    outcome = attack_outcome(scenario)
    split, model = trained_model(scenario.model_key, scenario)

    clean, adversarial = outcome.clean_accuracy, outcome.adversarial_accuracy
    cols = st.columns(3)
    cols[0].metric("Clean accuracy", accuracy_text(clean), help="Accuracy on the untouched test set.")
    cols[1].metric("Adversarial accuracy", accuracy_text(adversarial), delta=f"{adversarial - clean:+.3f}",
                   help="Accuracy on the same test points after the attack.")
    cols[2].metric("Predictions flipped", f"{outcome.flipped} of {outcome.n_test}",
                   help="Test points whose predicted class the attack changed.")
    st.write(f"Accuracy on the clean test set: **{accuracy_text(clean)}**; on the adversarial test set: "
             f"**{accuracy_text(adversarial)}** (epsilon = {eps:.2f}, L∞).")
    st.caption("The adversarial examples are crafted against the true labels: without them ART attacks the "
               "model's own predictions, and the reported adversarial accuracy can even exceed the clean one.")

    st.plotly_chart(build_attack_scatter(outcome.X_test, outcome.X_adv, outcome.pred_clean, outcome.pred_adv,
                                         split.class_names, split.feature_names, binary_boundary(model.estimator),
                                         eps_max=EPSILON.high),
                    width="stretch")
    st.caption("Circles are clean test points, crosses their adversarial versions (150 shown); the colour is "
               "the class the model predicts. Grey segments join each point to its twin; the dashed line is "
               "the decision boundary.")


attack_view()
