"""Experiments: plan, execute and store batches of runs; tables and figures for papers."""
