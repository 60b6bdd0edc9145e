"""The PyTorch poisoning entries on the Poisoning page (AppTest): the clean-label backdoor with activation clustering
on the digits CNN shows the library's numbers, and a rate the clean-label attack cannot reach is one sentence."""

import pytest
from test_poisoning_page import _scenario, metrics, open_page

from qulab.app import state as dc
from qulab.core.wording import accuracy_text
from qulab.threats.poisoning.run import run_poisoning


@pytest.mark.slow  # two CNN runs with a detector (about 35 s of CPU): `make test-slow`
def test_clean_label_backdoor_and_activation_clustering_show_the_librarys_numbers():
    choice = dc.builtin_choice("digits")
    app = open_page(choice)
    app.selectbox(key="po_model").set_value("torch_cnn").run()
    app.selectbox(key="po_attack").set_value("clean_label_backdoor").run()
    # The page's default rate (0.1) asks for more zeros than there are: refused in one sentence, no traceback.
    assert not app.exception
    assert any("clean-label backdoor (on points of the target class) can poison at most" in e.value for e in app.error)
    app.slider(key="po_rate").set_value(0.05).run()
    app.selectbox(key="po_defence").set_value("activation_clustering").run()
    assert not app.exception and not app.error
    expected = run_poisoning(_scenario(choice, model="torch_cnn", model_params=(("epochs", 15),),
                                       attack="clean_label_backdoor", target_class=0, rate=0.05,
                                       defence="activation_clustering"))
    shown = metrics(app)
    assert shown["Attack success rate"] == accuracy_text(expected.attack_success_rate)
    assert shown["Detection recall"] == accuracy_text(expected.detection_recall)
    assert shown["Defended accuracy"] == accuracy_text(expected.defended_accuracy)
