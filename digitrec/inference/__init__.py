"""Inference: safe image reading (`files`), MNIST-style preprocessing (`preprocess`), cutting
numbers into digits (`segment`), runtimes (`runtimes`) and predictions (`prediction`)."""
