"""Evaluation: accuracy with honest intervals and per-digit metrics (`metrics`), figures as
PNG bytes (`figures`) and Kaggle submissions (`submission`)."""
