"""The README's quick-start runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs_as_written():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python code block"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["codes"].shape == (1797, 8)
    assert namespace["images"].shape == (1797, 64)
    assert namespace["search"].best_params_["n_components"] in (2, 8)
