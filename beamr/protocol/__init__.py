"""The wire between beamr's parent and its workers, sans-IO: every constant, message
and frame of it, and nothing that touches a pipe, a socket or an event loop.

Both sides import this module. The parent's state machine over it is
:mod:`beamr.connection`.

Framing
-------
Every frame is a 4-byte big-endian length followed by exactly one msgpack value, an
array ``[id, kind, *fields]``. ``id`` is an unsigned integer the parent chooses for
each command; every reply repeats the id of the command it answers, and an import
request carries the id of the call that made it. A frame longer than the decoder's
``max_frame_size`` is refused from its header alone.

Commands (parent -> worker) mirror HyperBEAM's port terms; each expects one reply::

    [id, "init", binary, options]         execution_result imports exports globals
    [id, "size"]                          execution_result bytes
    [id, "read", offset, size]            execution_result data
    [id, "write", offset, data]           ok
    [id, "read_string", offset]           execution_result data
    [id, "locate", offset, size, access]  execution_result address memory_size
    [id, "call", name, args]              execution_result results
    [id, "serialize"]                     execution_result data
    [id, "deserialize", data]             ok
    [id, "instantiate", options]          ok
    [id, "get_global", name]              execution_result [value]
    [id, "set_global", name, value]       ok
    [id, "probe", what]                   execution_result text
    [id, "stop"]                          (the worker exits)
    [id, "import_response", results]      (the suspended call resumes)
    [id, "import_error", kind, text]      (the suspended call traps)

Any command may instead be answered ``[id, "error", kind, text, code, detail]``.
While a command that runs wasm is in flight (``call``, and ``init`` or ``instantiate``,
whose start function runs), the worker may send ``[id, "import", module, name, args,
signature]``; until the parent answers it, the worker serves any other command (io,
nested calls), so the exchange is a strict stack: every frame belongs to the innermost
command still unanswered. Such a command may also be sent ``[id, "output", stream,
data]`` frames, any number, before its final reply: the WASI output (stream 1 stdout,
2 stderr) as the wasm writes it.

``locate`` is the bulk path's first half: the worker checks the range exactly as it
would for a read or write and answers with where ``offset`` lies in its address
space; the parent then copies the bytes itself while the worker waits for its next
command, so the wasm cannot run during the copy.

Out of band: the interrupt pipe carries 8-byte call ids (:func:`encode_interrupts`),
and the fork-server speaks the small messages at the end of this module.
"""

from __future__ import annotations

from beamr.protocol.constants import *  # noqa: F403
from beamr.protocol.constants import __all__ as _constants
from beamr.protocol.framing import *  # noqa: F403
from beamr.protocol.framing import __all__ as _framing
from beamr.protocol.messages import *  # noqa: F403
from beamr.protocol.messages import __all__ as _messages

__all__ = [*_constants, *_messages, *_framing]
