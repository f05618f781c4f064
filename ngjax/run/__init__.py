"""The run folder: config, metrics and checkpoints on disk (``workdir``, ``checkpoint``), and what
is read back from it afterwards (``report``, ``predict``, the Python API)."""
