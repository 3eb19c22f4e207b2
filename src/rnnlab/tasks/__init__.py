"""The end-to-end tasks, one module per input/output configuration.

- :mod:`rnnlab.tasks.classify`: many-to-one, a recurrent text classifier.
- :mod:`rnnlab.tasks.linear`: the bag-of-n-grams baselines (BoW, TF-IDF, NBSVM).
- :mod:`rnnlab.tasks.tag`: many-to-many aligned, a token tagger.
- :mod:`rnnlab.tasks.seq2seq`: N -> M, an encoder-decoder.
- :mod:`rnnlab.tasks.generate`: one-to-many, a conditional review generator.

Each is written over the shared template in :mod:`rnnlab.tasks.base`.
"""
