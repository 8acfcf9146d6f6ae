"""The training run's steps as plain functions over files, one module per stage as in `tasks/`:
`run` (folder and split), `data`, `training`, `ensemble`, `export`, `evaluation`,
`submission`, `registration`, `report`, and `predict` for the predict flow. They read their
inputs from paths, write into the run folder, and return the typed records of `records`."""
