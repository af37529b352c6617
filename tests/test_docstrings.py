"""Every public name of dlcore's namespaces has a docstring, and no namespace leaks helper modules.

Names are enumerated at run time (``__all__`` where a module has one, else its public
attributes), so names added later are checked too."""
import __future__
import importlib
import inspect
import types

import pytest

import dlcore

NAMESPACES = ["dlcore", "dlcore.nn", "dlcore.nn.functional", "dlcore.optim", "dlcore.data",
              "dlcore.ops"]
MIN_LENGTH = 20  # a docstring says what the name does, not just that it exists


def public_names(module):
    names = getattr(module, "__all__", None)
    return list(names) if names is not None else [n for n in dir(module) if not n.startswith("_")]


def own_doc(obj):
    """The object's own docstring (a class does not count its base's)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    return (doc or "").strip()


def _entries():
    for ns in NAMESPACES:
        module = importlib.import_module(ns)
        for name in public_names(module):
            yield ns, name, getattr(module, name)


def test_every_public_name_has_a_docstring():
    missing = []
    for ns, name, obj in _entries():
        if isinstance(obj, types.ModuleType) or inspect.isclass(obj) or callable(obj):
            if len(own_doc(obj)) < MIN_LENGTH:
                missing.append(f"{ns}.{name}")
    assert missing == [], f"{len(missing)} public names without a docstring: {missing}"


def _tensor_members():
    for name in dir(dlcore.Tensor):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(dlcore.Tensor, name)
        if isinstance(attr, types.MemberDescriptorType):  # __slots__ fields: documented in the class docstring
            continue
        yield name, attr


def test_every_tensor_method_and_property_has_a_docstring():
    assert len(own_doc(dlcore.Tensor)) >= MIN_LENGTH
    missing = []
    for name, attr in _tensor_members():
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        doc = own_doc(attr) if not isinstance(attr, property) else (attr.__doc__ or "").strip()
        if len(doc) < MIN_LENGTH:
            missing.append(name)
    assert missing == [], f"{len(missing)} Tensor members without a docstring: {missing}"


def test_slot_fields_are_described_in_the_class_docstring():
    doc = own_doc(dlcore.Tensor)
    fields = [name for name, attr in ((n, inspect.getattr_static(dlcore.Tensor, n)) for n in dir(dlcore.Tensor)
                                      if not n.startswith("_")) if isinstance(attr, types.MemberDescriptorType)]
    assert [f for f in fields if f not in doc] == []


@pytest.mark.parametrize("ns", NAMESPACES)
def test_namespaces_do_not_leak_helpers(ns):
    module = importlib.import_module(ns)
    leaks = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, __future__._Feature):  # `from __future__ import annotations`
            leaks.append(name)
        elif isinstance(obj, types.ModuleType):
            # Only the namespace's own, documented subpackages; never numpy, math or a sibling.
            if not obj.__name__.startswith(ns + ".") or len(own_doc(obj)) < MIN_LENGTH:
                leaks.append(name)
    assert leaks == [], f"{ns} leaks {leaks}"
    assert [n for n in public_names(module) if not hasattr(module, n)] == []
