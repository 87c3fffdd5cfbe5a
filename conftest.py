"""Test-wide settings: quick mode on (unless set), headless matplotlib.

The notebook kernels that nbval starts inherit this process's environment, so
``COURSE_QUICK=1`` reaches them too. Run ``COURSE_QUICK=0 pytest`` to test
the full-mode budgets instead.
"""

import os

os.environ.setdefault("COURSE_QUICK", "1")

import matplotlib

matplotlib.use("Agg")
