"""`python fault_child.py FAULTS ARGS...`: `databack ARGS...` in this process, with the faults FAULTS (JSON, as
`outs.Faults.arm` takes them) armed at the store's steps: a real process to kill at a chosen step."""

from __future__ import annotations

import json
import sys

from outs import Faults

faults = Faults()
faults.arm(*(tuple(f) for f in json.loads(sys.argv[1])))
sys.argv = ["databack", *sys.argv[2:]]

from converters.cli import main  # noqa: E402

main()
