"""One module per source: pure parse/clean functions plus a Read<Source> composite."""
