"""Modeling: the CNN architectures (`architectures`), the augmentation they train with
(`augmentation`: affine jitter, elastic distortions), how they train (`training`), the training
profiles (`profiles`), averaging ensembles (`ensemble`) and the "not a digit" gate
(`rejection`)."""
