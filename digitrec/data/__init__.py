"""Data: the embedded MNIST (`embedded`), strict Kaggle CSV loading (`kaggle`), every split
(`split`), where a run's data comes from (`sources`) and Great Expectations checks
(`validation`)."""
