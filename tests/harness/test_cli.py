"""The top-level `canary` command as a user meets it."""

import subprocess
import sys

from canary.cli import COMMANDS


def canary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "canary.cli", *args], capture_output=True,
                          text=True, timeout=30)


def test_version_names_the_distribution():
    p = canary("--version")
    assert p.returncode == 0 and p.stdout.startswith("canary ") and "pytest-canary" in p.stdout


def test_help_describes_every_command():
    p = canary("--help")
    assert p.returncode == 0
    for name in COMMANDS:
        assert any(line.split()[:1] == [name] and len(line.split()) > 3
                   for line in p.stdout.splitlines()), name


def test_unknown_command_says_so_and_shows_the_commands():
    p = canary("deploy")
    assert p.returncode == 2 and "unknown command 'deploy'" in p.stderr and "sandbox" in p.stderr
