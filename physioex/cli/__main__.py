"""``python -m physioex.cli``: the same as the ``physioex`` command."""

from physioex.cli import main

main()
