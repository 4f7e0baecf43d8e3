"""The Python code blocks of the READMEs (bindings-python/README.md, then the root README's
Python blocks if any), as written: ``python tests/readme_blocks.py OUTDIR`` writes them to
OUTDIR/readme_<n>.py (for ``mypy --strict``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "bindings-python" / "README.md", ROOT / "README.md"]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> List[str]:
    out: List[str] = []
    for readme in READMES:
        out += _BLOCK.findall(readme.read_text())
    return out


def write_blocks(outdir: Path) -> List[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, code in enumerate(python_blocks()):
        p = outdir / f"readme_{i}.py"
        p.write_text(code)
        paths.append(p)
    return paths


if __name__ == "__main__":
    for p in write_blocks(Path(sys.argv[1])):
        print(p)
