"""The README's QA example runs as written, with only the installed plugin, outside the project."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_opens_with_the_two_commands():
    lines = [line for line in README.read_text().splitlines() if line.strip()]
    assert lines[1] == "```sh"
    assert "idp-emulator up" in lines[2] and "pytest" in lines[3] and lines[4] == "```"


@pytest.mark.browser
def test_readme_qa_example_passes(tmp_path):
    assert shutil.which("chromium") or Path("/usr/bin/chromium").exists(), "Debian's chromium is needed (apt-get install chromium)"
    block = re.search(r"<!-- qa-example -->\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len(block.strip().splitlines()) <= 16
    (tmp_path / "test_example.py").write_text(block)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
