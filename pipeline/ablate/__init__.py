"""`corral ablate`: does a filter help? The same small model trained on the corpora of two or more configs."""
