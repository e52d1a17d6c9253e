"""One module per decoder step; each is a pure function ``(Message, Context) -> Message``.

A step raises a ``Rejection`` subclass for a message that cannot be decoded and never touches the
network or the file system. Module docstrings cite the reference items (D-nn) they implement.
"""
