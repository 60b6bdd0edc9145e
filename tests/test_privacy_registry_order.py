"""The privacy attacks are listed in one order, whichever entry module a process imports first."""

import subprocess
import sys

import pytest

from qulab.threats.privacy.attacks import ENTRY_MODULES, PRIVACY_ATTACKS


@pytest.mark.parametrize("first", ENTRY_MODULES)
def test_the_registry_order_does_not_depend_on_which_module_came_first(first):
    names = subprocess.run(
        [sys.executable, "-c", f"import {first}\nfrom qulab.threats.privacy.attacks import PRIVACY_ATTACKS\n"
                               "print(','.join(PRIVACY_ATTACKS.names()))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert names.split(",") == PRIVACY_ATTACKS.names()
