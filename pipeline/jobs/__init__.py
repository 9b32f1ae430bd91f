"""The jobs: the corpus job, the CommonCrawl models, the tokenizer, the report, verification."""
