"""pdoc for `make docs` (scripts/docs.sh): run as ``python -W error tools/docs/pdoc_run.py
[pdoc arguments]``, so that any warning pdoc gives (an unresolved ``__all__`` name, a stub that
does not parse, a bad docstring link) is an error and the build fails.

``hoopauth`` imports some public names on first use (``Client`` and ``AsyncClient`` need httpx,
the ``httpx`` extra), through the module's ``__getattr__``; pdoc reads module attributes, so
every name of ``__all__`` is resolved and bound first, as a user with the extras sees it (a name
that does not resolve stays unbound, and pdoc's warning about it fails the build).

pdoc takes type information from a module's own stub (``hoopauth/__init__.pyi``); the classes
and functions of the extension (``hoopauth._hoopauth``) are documented where users import
them, in ``hoopauth``, so their stub ``_hoopauth.pyi`` is applied to them as well.
"""

import __future__
import sys
import types
from pathlib import Path
from unittest import mock

import pdoc.__main__
from pdoc import doc, doc_pyi

_own_stub = doc_pyi.include_typeinfo_from_stub_files


def _load_stub(name: str, path: Path) -> types.ModuleType:
    """The stub as a module; annotations stay text (a stub may name a class before it is
    defined, which type checkers allow), evaluated by pdoc in the stub's namespace."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    flags = __future__.annotations.compiler_flag
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec", flags=flags, dont_inherit=True), module.__dict__)
    return module


def _with_extension_stubs(module: doc.Module) -> None:
    _own_stub(module)
    sources = {m.taken_from[0] for m in module.members.values()} - {module.modulename}
    for source in sorted(sources):
        file = str(getattr(sys.modules.get(source), "__file__", "") or "")
        stub_file = doc_pyi.find_stub_file(source)
        if stub_file is None or file.endswith((".py", ".pyi")):
            continue  # only extension modules: a .py module carries its own annotations
        stub = _load_stub(source, stub_file)
        stub_mod = doc.Module(stub)
        doc_pyi._prepare_module(module)
        with mock.patch.dict("sys.modules", {source: stub}):
            for member in module.members.values():
                if member.taken_from[0] == source:
                    doc_pyi._patch_doc(member, stub_mod)


doc_pyi.include_typeinfo_from_stub_files = _with_extension_stubs

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
