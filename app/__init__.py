"""Entry points that may import the flows: the `digitrec` command (`cli`)."""
