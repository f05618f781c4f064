"""The data: the 20 Newsgroups corpus, the Keras-faithful tokenizer, the token arrays (split,
cached) and the GloVe table. numpy in, numpy out; nothing here imports JAX."""
