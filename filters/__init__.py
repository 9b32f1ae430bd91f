"""Pure document checks and cleaners, and the CommonCrawl model steps (no Beam imports)."""
