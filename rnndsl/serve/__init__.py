"""`rnndsl serve`: a local web playground (127.0.0.1 only) over the same checker and renderer as the CLI.

The page (static/) holds an editor with live diagnostics, the unrolled and folded diagrams, the
parameter table and the `rnndsl compile` command line; the server (server.py) answers its JSON
API with `pipeline.analyse` and `backends.dot` (api.py) and reads and writes only .rnn files
inside the folder it was started in (files.py). Nothing here imports TensorFlow.
"""

from .files import FolderError, SpecFolder
from .server import HOST, MAX_BODY, PlaygroundServer, make_server

__all__ = ["HOST", "MAX_BODY", "PlaygroundServer", "make_server", "SpecFolder", "FolderError"]
