"""How names and numbers read in QuLab's sentences, in one place so every page, message and the CLI say them
alike (not "The Logistic regression", "a rbf svm" or "2.44e-05")."""

from __future__ import annotations

import math

# Letters whose spoken name starts with a vowel sound: "an RBF SVM", "an MLP", "a CNN".
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_FROM = 1e-6  # smaller sizes read as "2.4 × 10⁻⁷": six zeros after the point are as many as one counts


# Names that keep their capital mid-sentence although they open a label ("Gaussian noise at test time").
PROPER_NAMES = frozenset({"Gaussian", "Madry", "Carlini", "Wagner"})


def in_running_text(label: str) -> str:
    """A registry label (sentence case) as it reads mid-sentence: "Logistic regression" → "logistic regression";
    acronyms, names with inner capitals and proper names keep their case ("RBF SVM", "Neural network (PyTorch
    MLP)", "Gaussian noise")."""
    first, _, rest = label.partition(" ")
    if first[:1].isupper() and first[1:].islower() and first not in PROPER_NAMES:
        first = first[0].lower() + first[1:]
    return f"{first} {rest}" if rest else first


def article(phrase: str) -> str:
    """"a" or "an" by how the phrase is spoken: "a linear SVM", "an RBF SVM", "an ensemble"."""
    first = phrase.split(" ", 1)[0]
    acronym = len(first) > 1 and first.isupper()
    vowel = first[0] in _VOWEL_SOUND_LETTERS if acronym else first[:1].lower() in "aeiou"
    return "an" if vowel else "a"


def with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


def sentence_start(text: str) -> str:
    """The text opening a sentence: its first letter capitalised, the rest as it is ("An RBF SVM")."""
    return text[:1].upper() + text[1:]


def accuracy_text(value: float) -> str:
    """An accuracy or rate: three fixed decimals, so a column of them lines up."""
    return f"{value:.3f}"


def number_text(value: float, digits: int = 3) -> str:
    """A size (a perturbation, a radius) to ``digits`` significant digits in plain notation ("0.0000244",
    "12.3", "1230"); below :data:`PLAIN_FROM` as "2.44 × 10⁻⁷"."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) < PLAIN_FROM:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')} × 10{str(int(exponent)).translate(_SUPERSCRIPTS)}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    rounded = round(value, decimals)
    text = f"{rounded:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
