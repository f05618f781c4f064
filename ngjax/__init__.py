"""ngjax: LSTM / SimpleRNN classifiers of 20 Newsgroups with GloVe, in JAX."""

__version__ = "0.1.0"
