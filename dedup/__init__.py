"""Deduplication as Beam composites (exact, line-level, MinHash LSH)."""
