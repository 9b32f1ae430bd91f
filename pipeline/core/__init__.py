"""The core: documents and drop reasons, config loading, file and archive I/O, staged and shard
Arrow files, the reading-step contract. Imports nothing else of the project."""
