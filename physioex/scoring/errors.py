"""The two scoring problems a caller may want to word in its own terms; both are ``InputError`` s.

Every other problem of a scoring file is a plain ``InputError`` whose message starts with the file.
``physioex.preprocess`` turns these into per-recording errors in its own words (``unknown annotation``,
``PSG/hypnogram mismatch``), without parsing messages.
"""

from __future__ import annotations

from physioex.errors import InputError


class UnknownLabelError(InputError):
    """A label no vocabulary maps; ``str(err)`` is the full one-line message.

    Attributes
    ----------
    file, where, label
        The scoring file, the place in it (``"line 3"``, ``"annotation 2 (at 30 s)"``) and the label.
    """

    def __init__(self, message: str, *, file: str, where: str, label: str) -> None:
        super().__init__(message)
        self.file, self.where, self.label = file, where, label


class ScoringMismatchError(InputError):
    """A scoring that does not fit its PSG in time (outside it, or scored far past its end).

    Attributes
    ----------
    file
        The scoring file.
    detail
        What does not fit, without the file name, e.g. ``"the scoring ends at -30 s, before the PSG
        starts (0 s); is it the scoring of this recording?"``.
    """

    def __init__(self, file: str, detail: str, headline: str = "") -> None:
        super().__init__(f"{file}: {headline}{detail}")
        self.file, self.detail = file, detail
