"""The Sphinx docs build without a single warning."""
import subprocess
import sys
from pathlib import Path


def test_docs_build_without_warnings(tmp_path):
    docs = Path(__file__).resolve().parents[1] / "docs"
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             str(docs), str(tmp_path / "html")], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "html" / "index.html").exists()
