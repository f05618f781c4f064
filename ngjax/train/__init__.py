"""Training: the optimizer, the state, the compiled train step and epoch, evaluation metrics,
length buckets, device meshes, and the loop that runs a config in a workdir (``loop``)."""
