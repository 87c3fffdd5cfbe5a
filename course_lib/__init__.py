"""course_lib: the small, tested PyTorch library behind the course
"GANs from first principles to text-to-image".

Notebooks explain and experiment; this package holds the reusable pieces they
import. The core helpers are re-exported here::

    from course_lib import pick_device, seed_everything, is_quick, cmp

Which way the imports run: data knows no model; a model does not know how it
is trained and draws nothing; objectives are pure functions; the training loop
knows models and objectives; metrics know data and models. Nothing in the
library imports :mod:`course_lib.checks` (grading) or
:mod:`course_lib.exercises` (the exercise builder).
"""

from course_lib.compare import CompareResult, cmp
from course_lib.device import pick_device
from course_lib.mode import is_quick, pick
from course_lib.seeding import seed_everything

__all__ = [
    "CompareResult",
    "cmp",
    "is_quick",
    "pick",
    "pick_device",
    "seed_everything",
]
__version__ = "0.1.0"
