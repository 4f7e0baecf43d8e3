"""pdoc for `make docs` (scripts/docs.sh): run as ``python -W error tools/docs/pdoc_run.py
[pdoc arguments]``, so that any warning pdoc gives (an unresolved ``__all__`` name, a stub that
does not parse, a bad docstring link) is an error and the build fails.

``hoopauth.Client`` and ``hoopauth.AsyncClient`` are imported on first use (they need httpx,
the ``httpx`` extra) and pdoc reads module attributes: they are bound first, as a user with the
extra sees them.
"""

import sys

import pdoc.__main__

try:
    import hoopauth
    from hoopauth import _httpx
except ImportError:  # the negative check documents a module of its own
    pass
else:
    hoopauth.Client, hoopauth.AsyncClient = _httpx.Client, _httpx.AsyncClient  # type: ignore[misc]

sys.argv = ["pdoc", *sys.argv[1:]]
pdoc.__main__.cli()
