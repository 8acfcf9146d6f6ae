"""Modeling: the CNN architectures (`architectures`), how they train (`training`, with Keras
`callbacks`), the training profiles (`profiles`) and averaging ensembles (`ensemble`)."""
