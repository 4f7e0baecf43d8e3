"""pdoc for `make docs` (scripts/docs.sh): run as ``python -W error tools/docs/pdoc_run.py
[pdoc arguments]``, so that any warning pdoc gives (an unresolved ``__all__`` name, a stub that
does not parse, a bad docstring link) is an error and the build fails.

``hoopauth`` imports some public names on first use (``Client`` and ``AsyncClient`` need httpx,
the ``httpx`` extra), through the module's ``__getattr__``; pdoc reads module attributes, so
every name of ``__all__`` is resolved and bound first, as a user with the extras sees it (a name
that does not resolve stays unbound, and pdoc's warning about it fails the build).
"""

import sys

import pdoc.__main__

try:
    import hoopauth
except ImportError:  # the negative check documents a module of its own
    pass
else:
    for _name in hoopauth.__all__:
        if _name not in vars(hoopauth):
            try:
                setattr(hoopauth, _name, getattr(hoopauth, _name))
            except (AttributeError, ImportError):
                pass

sys.argv = ["pdoc", *sys.argv[1:]]
pdoc.__main__.cli()
