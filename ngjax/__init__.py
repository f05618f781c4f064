"""ngjax: LSTM / SimpleRNN classifiers of 20 Newsgroups with GloVe, in JAX.

``ngjax.load_run(path)`` reads a finished run as a text classifier (``ngjax.run.api``); the commands
are ``python -m ngjax.main`` (train), ``ngjax.predict``, ``ngjax.report`` and ``ngjax.distill.teacher``.
"""

__version__ = "0.1.0"


def load_run(path: str):
    """The finished run in folder ``path`` as a ``Classifier`` (``predict``, ``predict_proba``, ``top_k``)."""
    import importlib

    # imported when asked (it imports JAX), by name: the package's __init__ depends on none of its modules
    return importlib.import_module("ngjax.run.api").load_run(path)
