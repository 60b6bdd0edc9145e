"""Backdoor detectors from ART on QuLab's PyTorch models: which training points they flag.

Both look at what a network trained on the (possibly poisoned) data makes of each training point, class by class,
and flag the points whose inner representation stands apart:

- ``ActivationDefence`` (Chen et al. 2018) reduces each class's activations with PCA, splits them with k-means and
  calls a cluster poisoned by its size (``smaller``) or by where its centre lies (``distance``); with exclusionary
  reclassification it then refits a model without the suspicious clusters and clears a cluster that model still
  gives its own label.
- ``SpectralSignatureDefense`` (Tran et al. 2018) scores each point by its projection on the top singular vector of
  its class's activations and flags, in every class, the top ``eps_multiplier × expected_rate`` share.

Both read the activations of the last layer ART lists for the network. For QuLab's ``nn.Sequential`` nets that is
the logits; the papers use the last hidden layer, so by default the detectors see that one (``layer="hidden"``).
ART's k-means and PCA draw from NumPy's global generator and its refits from torch's, so every detection runs under
:func:`qulab.core.randomness.seeded`. What ART does here and where it breaks: docs/art-findings.md (Poisoning).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from qulab.core.randomness import seeded
from qulab.core.registry import InvalidInput, Param
from qulab.data.datasets import Split
from qulab.models.registry import ModelSpec
from qulab.threats.poisoning.defences import POISONING_DEFENCES, Flagged, PoisoningDefenceSpec

LAYERS = ("hidden", "logits")
# ART's "relative-size" and "silhouette-scores" crash or leave points unassigned on NumPy 2 (docs/art-findings.md).
CLUSTER_ANALYSES = ("smaller", "distance")


@functools.cache
def _hidden_layer_last(base: type) -> type:
    """``base`` with the logits dropped from ``layer_names``: ART's detectors read the last layer listed."""

    class HiddenLayerLast(base):
        @property
        def layer_names(self) -> list[str]:
            return super().layer_names[:-1]

    return HiddenLayerLast


def _art_view(estimator: Any, layer: str) -> Any:
    """The fitted QuLab torch estimator behind ART's interface, with ``layer`` last in ``layer_names``."""
    from qulab.models.torch_nets import to_art_classifier

    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {', '.join(LAYERS)}, not {layer!r}")
    classifier = to_art_classifier(estimator)
    if layer == "hidden":
        # Same state, one property changed; ART's clone_for_refitting builds type(self), so refits keep it.
        classifier.__class__ = _hidden_layer_last(type(classifier))
    return classifier


def activation_clustering(estimator: Any, X: np.ndarray, y: np.ndarray, *, seed: int, layer: str = "hidden",
                          nb_clusters: int = 2, nb_dims: int = 10, cluster_analysis: str = "smaller",
                          exclusionary_threshold: float = 0.0) -> Flagged:
    """ART's ``ActivationDefence`` on a fitted QuLab torch estimator trained on (X, y), y as class indices.

    ``exclusionary_threshold`` > 0 turns on ART's exclusionary reclassification: a suspicious cluster is cleared
    when a model refitted without all suspicious points gives more than that many of its points their own label
    per point it gives the runner-up class.
    """
    from art.defences.detector.poison import ActivationDefence

    if cluster_analysis not in CLUSTER_ANALYSES:
        raise ValueError(f"cluster_analysis must be one of {', '.join(CLUSTER_ANALYSES)}, not {cluster_analysis!r}")
    if cluster_analysis == "distance" and nb_clusters != 2:
        # ART's distance analysis reads clusters 0 and 1 only and leaves the others' points unassigned.
        raise InvalidInput("Judging clusters by distance works with 2 clusters per class: set the clusters to 2.")
    classifier = _art_view(estimator, layer)
    with seeded(seed):
        defence = ActivationDefence(classifier, np.asarray(X, np.float32), np.asarray(y, np.int64),
                                    ex_re_threshold=exclusionary_threshold or None)
        _, is_clean = defence.detect_poison(nb_clusters=nb_clusters, nb_dims=nb_dims, reduce="PCA",
                                            cluster_analysis=cluster_analysis)
    return Flagged(np.flatnonzero(np.asarray(is_clean) == 0))


def spectral_signatures(estimator: Any, X: np.ndarray, y: np.ndarray, *, seed: int, expected_rate: float,
                        eps_multiplier: float = 1.5, layer: str = "hidden") -> Flagged:
    """ART's ``SpectralSignatureDefense`` on a fitted QuLab torch estimator trained on (X, y), y as class indices.

    It flags the top ``eps_multiplier × expected_rate`` share of every class by ART's outlier score, ``|v · r|``
    with ``r`` a point's raw activation and ``v`` the top right singular vector of its class's centred activations
    (the paper squares the centred projection instead). The scores come back for every point.
    """
    from art.defences.detector.poison import SpectralSignatureDefense

    classifier = _art_view(estimator, layer)
    X32, y = np.asarray(X, np.float32), np.asarray(y, np.int64)
    with seeded(seed):
        defence = SpectralSignatureDefense(classifier, X32, y, expected_pp_poison=expected_rate,
                                           eps_multiplier=eps_multiplier)
        _, is_clean = defence.detect_poison()
    activations = classifier.get_activations(X32, layer=len(classifier.layer_names) - 1).reshape(len(y), -1)
    scores = np.zeros(len(y))
    for k in np.unique(y):
        rows = np.flatnonzero(y == k)
        scores[rows] = SpectralSignatureDefense.spectral_signature_scores(activations[rows])[:, 0]
    return Flagged(np.flatnonzero(np.asarray(is_clean) == 0), scores)


# --- registry entries -------------------------------------------------------------------------------------------

def _needs_network(model: ModelSpec) -> str | None:
    if model.family == "neural":
        return None
    return (f"This detector reads a neural network's hidden activations, and {model.a_name} has none: choose the "
            "PyTorch MLP or CNN.")


def _seed(rng: np.random.Generator) -> int:
    """A seed for ART's global draws, taken from the defender's own stream of the run's seed."""
    return int(rng.integers(2**31 - 1))


LAYER_PARAM = Param("layer", "Activations read", "hidden",
                    "Which layer's output the detector clusters or scores: the last hidden layer (the papers' "
                    "choice) or the logits (what ART reads by default on these networks).",
                    choices=LAYERS, choice_labels=("Last hidden layer", "Logits"))


def _flag_activation(split: Split, model: Any, params: Mapping[str, Any], rng: np.random.Generator) -> Flagged:
    return activation_clustering(model.estimator, split.X_train, split.y_train, seed=_seed(rng), **params)


def _flag_spectral(split: Split, model: Any, params: Mapping[str, Any], rng: np.random.Generator) -> Flagged:
    return spectral_signatures(model.estimator, split.X_train, split.y_train, seed=_seed(rng), **params)


POISONING_DEFENCES.register(PoisoningDefenceSpec(
    "activation_clustering", "Activation clustering (ART)",
    "Splits each class's hidden activations into clusters and flags a cluster that looks poisoned (the smaller "
    "one, or one centred nearer another class); optionally keeps it after all if a model refitted without it still "
    "gives it its label.",
    _flag_activation,
    protects_against="Backdoors whose triggered points the network represents apart from the clean points of their "
                     "label; by size it can only pick the poison while the poison is the minority of that class.",
    reference="Chen et al., Detecting Backdoor Attacks on Deep Neural Networks by Activation Clustering, "
              "SafeAI@AAAI 2019",
    model_reason=_needs_network, global_draws=True,
    params=(
        LAYER_PARAM,
        Param("nb_clusters", "Clusters per class", 2, "How many clusters k-means splits each class into.", 2, 5),
        Param("nb_dims", "PCA dimensions", 10, "How many principal components of the activations are clustered.",
              2, 20),
        Param("cluster_analysis", "Which cluster is poisoned", "smaller",
              "Smaller: the smallest cluster of every class. Distance: a cluster whose centre lies nearer another "
              "class's centre than its own class's.",
              choices=CLUSTER_ANALYSES, choice_labels=("The smaller cluster", "Centred nearer another class")),
        Param("exclusionary_threshold", "Exclusionary reclassification threshold", 1.0,
              "0 switches it off. Otherwise a model is refitted without the suspicious clusters, and a cluster is "
              "cleared when that model gives more than this many of its points their own label per point it "
              "gives another class.", 0.0, 10.0, 0.1, zero_label="off"),
    )))

POISONING_DEFENCES.register(PoisoningDefenceSpec(
    "spectral_signatures", "Spectral signatures (ART)",
    "Scores each training point by how far its hidden activation lies along its class's main direction of "
    "variation, and flags the highest-scoring share of every class.",
    _flag_spectral,
    protects_against="Backdoors that leave a strong trace along one direction of the hidden activations of the "
                     "target class.",
    reference="Tran, Li & Madry, Spectral Signatures in Backdoor Attacks, NeurIPS 2018",
    model_reason=_needs_network, global_draws=True,
    params=(
        Param("expected_rate", "Expected poison share per class", 0.1,
              "The share of each class you expect to be poisoned; the detector flags this share times the "
              "multiplier in every class.", 0.01, 0.5, 0.01),
        Param("eps_multiplier", "Multiplier", 1.5,
              "How many times the expected share to flag: more finds more poison at more false alarms.",
              1.0, 3.0, 0.1),
        LAYER_PARAM,
    )))
