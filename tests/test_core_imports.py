"""The core never imports the TUI (or Textual)."""

import subprocess
import sys

CODE = """
import sys
import ftreplay, ftreplay.cli, ftreplay.record.store, ftreplay.sim.engine, ftreplay.runtime.runtime
import ftreplay.record.session, ftreplay.record.log, ftreplay.scenarios
ftreplay.scenarios.all_scenarios()
bad = sorted(m for m in sys.modules if m == 'tui' or m.startswith('tui.') or m == 'textual' or m.startswith('textual.'))
print(repr(bad))
"""


def test_core_does_not_import_tui_or_textual():
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout


def test_cli_help_does_not_import_tui():
    code = ("import sys\nfrom ftreplay.cli import build_parser\nbuild_parser()\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('tui', 'textual')])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
