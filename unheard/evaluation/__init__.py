"""Evaluation: the paper's metrics."""
