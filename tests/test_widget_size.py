"""The widget's budget and build: at most 30 KB gzipped (script and stylesheet, socket client
included), built from the current sources, and free of the constructs the strict CSP and the
"text, never HTML" rule forbid. No Node and no browser needed."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess

import pytest

from bot.settings import PROJECT_ROOT

BUDGET_BYTES = 30 * 1024
STATIC = PROJECT_ROOT / "bot" / "web" / "static"
SOURCES = PROJECT_ROOT / "widget" / "src"


def _gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def test_widget_js_and_css_fit_in_30_kb_gzipped() -> None:
    js = (STATIC / "widget.js").read_bytes()
    css = (STATIC / "widget.css").read_bytes()
    total = _gzipped(js) + _gzipped(css)
    assert total <= BUDGET_BYTES, f"{total} bytes gzipped, budget {BUDGET_BYTES}"


def test_the_committed_build_is_built_from_the_current_sources() -> None:
    """build.mjs stamps the sources' hash on the first line, so a stale build fails here even
    on a machine without Node."""
    stamp = (STATIC / "widget.js").read_text(encoding="utf-8").splitlines()[0]
    digest = hashlib.sha256((SOURCES / "widget.js").read_bytes()
                            + (SOURCES / "widget.css").read_bytes()).hexdigest()[:16]
    assert stamp == f"/*! polisen-chat {digest} */", "run `npm run build` in widget/"


def test_the_script_loads_the_stylesheet_it_was_built_with() -> None:
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    version = re.search(r"widget\.css\?v=([0-9a-f]{12})", js)
    assert version is not None
    assert hashlib.sha256((STATIC / "widget.css").read_bytes()).hexdigest().startswith(
        version.group(1))


@pytest.mark.parametrize("construct", ["innerHTML", "outerHTML", "insertAdjacentHTML",
                                       "document.write", "eval(", "new Function",
                                       "setAttribute(\"style\"", ".cssText"])
def test_the_widget_never_parses_html_or_code(construct: str) -> None:
    for path in (SOURCES / "widget.js", STATIC / "widget.js"):
        assert construct not in path.read_text(encoding="utf-8"), f"{construct} in {path}"


def test_the_widget_has_no_third_party_requests() -> None:
    """Only the host page's data attributes and the script's own origin are contacted."""
    source = (SOURCES / "widget.js").read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("*", "/*", "//")))
    assert not re.findall(r"https?://", code)
    assert "@import" not in (SOURCES / "widget.css").read_text(encoding="utf-8")
    assert "url(" not in (STATIC / "widget.css").read_text(encoding="utf-8")


def test_a_fresh_build_matches_the_committed_files() -> None:
    """Byte for byte, where Node and the pinned esbuild are installed (`npm ci` in widget/)."""
    widget = PROJECT_ROOT / "widget"
    if shutil.which("node") is None or not (widget / "node_modules" / "esbuild").exists():
        pytest.skip("node or widget/node_modules missing (npm ci in widget/)")
    result = subprocess.run(["node", "build.mjs", "--check"], cwd=widget, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
