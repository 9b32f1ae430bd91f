"""Write the bundled sample (data/sample/) deterministically: `make sample` or
`python -m scripts.make_sample data/sample`. Every text in it is written by this project."""
from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

from pipeline.sources.registry import SOURCE_NAMES


def make_sample(root: Path) -> None:
    """Every registered source's folder, written by scripts/sample/<source>.py `write_sample`."""
    for source in SOURCE_NAMES:
        folder = root / source
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        importlib.import_module(f"scripts.sample.{source}").write_sample(folder)


if __name__ == "__main__":
    make_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "data/sample"))
