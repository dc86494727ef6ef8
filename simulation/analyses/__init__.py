"""Analyses built on runs: the evolutionary game, sensitivity, the cost frontier, evidence."""
