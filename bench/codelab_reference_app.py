"""The codelab's way, as a baseline for bench_browser_epsilon.py: everything recomputed on every rerun.

Same data, model, attack and figure as QuLab's Attack Demo, but no caching: each slider move regenerates
the data, retrains the logistic regression, re-wraps it for ART and attacks.
"""

import numpy as np
import streamlit as st
from art.attacks.evasion import FastGradientMethod
from art.estimators.classification.scikitlearn import SklearnClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from qulab.data.datasets import make_codelab_classification
from qulab.figures.codelab import build_attack_scatter

st.title("Attack Demo (codelab reference)")
eps = st.slider("Epsilon", 0.0, 0.5, 0.1, 0.01)
data = make_codelab_classification()
X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, random_state=42,
                                                    stratify=data.y)
model = LogisticRegression(max_iter=5000, random_state=42).fit(X_train, y_train)
X_adv = FastGradientMethod(SklearnClassifier(model=model), eps=eps).generate(X_test, y=np.eye(2)[y_test])
pred, pred_adv = model.predict(X_test), model.predict(X_adv)
st.metric("Clean accuracy", f"{np.mean(pred == y_test):.3f}")
st.metric("Adversarial accuracy", f"{np.mean(pred_adv == y_test):.3f}")
st.plotly_chart(build_attack_scatter(X_test, X_adv, pred, pred_adv, data.class_names, data.feature_names))
