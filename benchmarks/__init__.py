"""chainrule's speed and memory benchmarks: ``python -m benchmarks`` (or ``make bench``).

Every figure is a ratio measured in one run: chainrule and its baselines are timed in the same
process, their repetitions interleaved, and the median of each is compared. This machine class
(shared, a couple of cores) makes absolute times noisy; ratios taken side by side are not.

Cases (see :mod:`benchmarks.__main__` for the options):

``tiny``
    The lecture's setting (500×2, 2-4-1 sigmoid, full batch, 1000 epochs): chainrule's network
    API and estimator against the lecture's own loop, scikit-learn's MLP and PyTorch.
``medium``
    60,000×784 float32 (synthetic, the shape of MNIST), 784-256-10 ReLU, softmax cross-entropy,
    batch 128, SGD, one epoch: against the five matrix products per batch alone (the floor), a
    hand-written NumPy loop, scikit-learn and PyTorch.
``wide``
    The same with three hidden layers of 1024 and batch 512.
``scaling``
    Epoch time for 1e4, 1e5 and 1e6 samples at small width: the cost should grow linearly.
``memory``
    Peak resident memory of the medium case, in a fresh process, against the training set's size.
"""
