"""How names and numbers read in sentences: one helper each, checked against the sentences they must produce."""

import pytest

from qulab.core.registry import Param
from qulab.core.wording import accuracy_text, number_text, sentence_start
from qulab.defences.spec import DEFENCES
from qulab.models.registry import MODELS
from qulab.threats.evasion.attacks import ATTACKS, art_warnings, for_tabular_data


@pytest.mark.parametrize(("name", "in_text", "a_name"), [
    ("logistic_regression", "logistic regression", "a logistic regression"),
    ("rbf_svm", "RBF SVM", "an RBF SVM"),
    ("linear_svm", "linear SVM", "a linear SVM"),
    ("decision_tree", "decision tree", "a decision tree"),
    ("torch_mlp", "neural network (PyTorch MLP)", "a neural network (PyTorch MLP)"),
])
def test_a_model_is_named_in_running_text_with_its_article(name, in_text, a_name):
    assert (MODELS.get(name).in_text, MODELS.get(name).a_name) == (in_text, a_name)


def test_defence_names_keep_proper_names_and_acronyms():
    from qulab.core.wording import in_running_text

    assert [in_running_text(DEFENCES.get(n).label) for n in ("gaussian_noise", "jpeg_compression",
                                                            "adversarial_training")] == [
        "Gaussian noise at test time", "JPEG compression", "adversarial training (Madry)"]


def test_sentence_start_keeps_acronyms():
    assert sentence_start("an RBF SVM") == "An RBF SVM"


def test_reasons_name_the_model_in_running_text():
    reason = ATTACKS.get("fgm").unsupported_reason(MODELS.get("decision_tree"))
    assert "a decision tree has none" in reason
    assert "; an RBF SVM has none:" in ATTACKS.get("decision_tree").unsupported_reason(MODELS.get("rbf_svm"))
    refused = DEFENCES.get("adversarial_training").unsupported_reason(MODELS.get("rbf_svm"))
    assert "It cannot run on an RBF SVM:" in refused and "The RBF SVM" not in refused
    assert "logistic regression" in refused and "Logistic regression" not in refused


@pytest.mark.parametrize(("value", "text"), [
    (2.44e-05, "0.0000244"), (0.123456, "0.123"), (12.345, "12.3"), (1234.5, "1234"), (0.0, "0"),
    (1.0, "1"), (9.996, "10"), (2.44e-07, "2.44 × 10⁻⁷"), (-0.5, "-0.5"),
])
def test_number_text_is_plain_with_significant_digits(value, text):
    assert number_text(value) == text


def test_accuracies_have_three_fixed_decimals():
    assert [accuracy_text(a) for a in (0.9, 0.92105, 1.0)] == ["0.900", "0.921", "1.000"]


def test_art_image_words_read_as_rows_on_tabular_data():
    message = "Failed to draw a random image that is adversarial, attack failed."
    assert for_tabular_data(message) == ("Failed to draw a random starting point that the model misclassifies, "
                                         "attack failed.")
    import logging

    for images, expected in ((False, "random starting point"), (True, "random image")):
        with art_warnings(images) as notes:
            logging.getLogger("art.attacks.evasion.hop_skip_jump").warning(message)
        assert len(notes) == 1 and expected in notes[0] and "init_size" in notes[0]


def test_a_log_parameter_steps_one_two_five_through_its_decades():
    c = MODELS.get("logistic_regression").params[0]
    steps = c.log_steps()
    assert steps[0] == 0.001 and steps[-1] == 1000.0 and 0.1 in steps and 1.0 in steps
    assert steps[:4] == (0.001, 0.002, 0.005, 0.01) and len(steps) == 19  # 6 decades × 3 + 1000
    assert c.parse("0.37") == 0.37  # the CLI still takes any value in range


def test_params_show_their_values_in_words():
    depth = MODELS.get("decision_tree").params[0]
    assert (depth.show(0), depth.show(5)) == ("unlimited", "5") and "unlimited" in depth.help
    attack = {p.name: p for p in DEFENCES.get("adversarial_training").params}["attack"]
    assert attack.show("pgd") == ATTACKS.get("pgd").label
    with pytest.raises(ValueError, match="one label per choice"):
        Param("x", "X", "a", "", choices=("a", "b"), choice_labels=("A",))
