"""The library never imports Streamlit: every module outside ``qulab.app`` imports with Streamlit unimportable."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import qulab

SRC = Path(__file__).resolve().parents[1] / "src"


def library_modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(qulab.__path__, "qulab.")]
    return [name for name in names if not (name == "qulab.app" or name.startswith("qulab.app."))]


def test_the_library_imports_without_streamlit() -> None:
    modules = library_modules()
    assert "qulab.threats.evasion.attacks" in modules and "qulab.cli" in modules
    script = (
        "import importlib, sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'streamlit' or name.startswith('streamlit.'):\n"
        "            raise ImportError('streamlit is not for the library')\n"
        "sys.meta_path.insert(0, Refuse())\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert not any(m == 'streamlit' or m.startswith('streamlit.') for m in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_refusal_would_catch_an_app_module() -> None:
    """The check above can fail: importing a page module under the same guard does."""
    script = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'streamlit' or name.startswith('streamlit.'):\n"
        "            raise ImportError('streamlit is not for the library')\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import qulab.app.caches\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "streamlit is not for the library" in result.stderr
