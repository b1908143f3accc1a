"""The README's Python example runs as written (with fewer epochs)."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_python_example_runs(data_root, monkeypatch):
    monkeypatch.setenv('GCL_DATA_ROOT', str(data_root))
    text = (Path(__file__).resolve().parents[1] / 'README.md').read_text()
    block = re.search(r'```python\n(.*?)```', text, re.S).group(1)
    block = block.replace('epochs=200', 'epochs=2').replace(
        'gcl.GRACE(random_state=0).fit(train_graph)',
        'gcl.GRACE(random_state=0, epochs=2).fit(train_graph)')
    namespace: dict = {}
    exec(compile(block, 'README.md', 'exec'), namespace)  # noqa: S102 - our own README
    assert namespace['z'].shape == (2708, 128)
    assert 0.0 <= namespace['report']['node']['test_acc'] <= 1.0
