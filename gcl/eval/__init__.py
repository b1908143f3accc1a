"""Evaluation of frozen node embeddings: node classification, clustering, link prediction.

Each evaluator works on any embeddings ``z`` ``[N, D]`` alone; :func:`evaluate` runs several
on one graph. Protocols and their sources: ALGORITHMS.md §0.5 and §4.6.
"""

from gcl.eval.clustering import ClusteringEvaluator, clustering_accuracy, evaluate_clustering
from gcl.eval.evaluate import evaluate
from gcl.eval.link_prediction import (
    evaluate_link_prediction,
    evaluate_link_prediction_transductive,
    split_edges,
)
from gcl.eval.node_classification import (
    NodeClassificationEvaluator,
    evaluate_node_classification,
)

__all__ = [
    'NodeClassificationEvaluator',
    'evaluate_node_classification',
    'ClusteringEvaluator',
    'clustering_accuracy',
    'evaluate_clustering',
    'split_edges',
    'evaluate_link_prediction',
    'evaluate_link_prediction_transductive',
    'evaluate',
]
