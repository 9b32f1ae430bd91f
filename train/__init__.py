"""The compact LLaMA trainer."""
