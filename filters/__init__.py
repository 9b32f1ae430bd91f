"""Pure document checks and cleaners (no Beam imports), plus the FilterDocuments DoFn."""
