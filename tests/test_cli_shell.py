"""The CLI shell: exit codes and never a traceback."""

import subprocess
import sys

from click.testing import CliRunner

from archiver import __version__
from archiver.cli import cli


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "archiver", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_version():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output


def test_unknown_command_is_a_usage_error():
    p = run("frobnicate")
    assert p.returncode == 2
    assert "Traceback" not in p.stderr


def test_bad_option_is_a_usage_error():
    p = run("validate", "--no-such-option")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_help_lists_commands():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0
    for name in ("package", "validate", "inspect", "export", "receive"):
        assert name in r.output
