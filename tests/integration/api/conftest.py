"""The API tests run on the page tests' harness (``tests/integration/pages/conftest.py``).

``--import-mode=importlib`` forbids importing a conftest by name, so the module is loaded
from its file once and its fixtures are re-exported here (pytest collects fixtures from a
conftest's attributes, wherever they were defined).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "aftersales_tests_service_harness"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "pages" / "conftest.py")
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
harness = sys.modules[_NAME]

migrated_template = harness.migrated_template
service = harness.service
