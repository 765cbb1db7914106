"""The one error type for bad user input.

A `ModicInputError` is a `ValueError` whose message is one line: what is wrong, where (file, column,
case, sequence), and what to do. The CLI prints it to stderr and exits with code 2; the Slicer modules
show it in an error dialog.
"""


class ModicInputError(ValueError):
    """Bad input: one line saying what, where and what to do."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ModicWarning(UserWarning):
    """A result that is written but should be looked at (e.g. an implausible segmentation)."""
