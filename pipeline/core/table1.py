"""LLaMA (Touvron et al. 2023), Table 1, the only copy in the project: per source the sampling
proportion, the epochs over 1.4T tokens and the disk size. The mixture's defaults (config.py) and
the report's paper columns (pipeline/jobs/stats.py) read it."""
from __future__ import annotations

PAPER_TABLE1 = {
    "commoncrawl": {"sampling": 0.67, "epochs": 1.10, "disk": "3.3 TB"},
    "c4": {"sampling": 0.15, "epochs": 1.06, "disk": "783 GB"},
    "github": {"sampling": 0.045, "epochs": 0.64, "disk": "328 GB"},
    "wikipedia": {"sampling": 0.045, "epochs": 2.45, "disk": "83 GB"},
    "books": {"sampling": 0.045, "epochs": 2.23, "disk": "85 GB"},
    "arxiv": {"sampling": 0.025, "epochs": 1.06, "disk": "92 GB"},
    "stackexchange": {"sampling": 0.02, "epochs": 1.03, "disk": "78 GB"},
}
PAPER_TOKENS = 1.4e12  # LLaMA-33B and 65B: 1.4T tokens
