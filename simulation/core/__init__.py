"""The model core: network, countermeasures, the model and its step, metrics, one run."""
