"""`python -m tinystack_component plan [--stack dev] [--json] [--out DIR]`."""

import asyncio
import gc
import sys

from .plan.cli import main


def _close_event_loops() -> None:
    """The Pulumi SDK's mocks open an event loop in each worker thread and never close them. Left to the
    interpreter's exit, their finalizers sometimes print a spurious traceback after the plan."""
    for candidate in gc.get_objects():
        if isinstance(candidate, asyncio.AbstractEventLoop) and not (candidate.is_running() or candidate.is_closed()):
            candidate.close()


code = main()
_close_event_loops()
sys.exit(code)
