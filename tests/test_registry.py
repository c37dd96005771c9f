import pytest

from bench.errors import UserError
from bench.registry import Registry
from clusterers import CLUSTERERS
from models import MODELS
from reducers import REDUCERS


def make():
    registry = Registry("thing")

    @registry.register("double", factor=2)
    def double(factor=1, seed=0):
        """Multiply by a factor, given or
        registered.

        Why: a summary is the first paragraph, whole."""
        return lambda v: v * factor

    return registry


def test_create_uses_defaults_and_overrides():
    registry = make()
    assert registry.create("double")(3) == 6
    assert registry.create("double", factor=5)(3) == 15
    assert registry.names() == ["double"]
    assert registry.get("double").summary == "Multiply by a factor, given or registered."


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UserError, match=r"unknown thing 'dubble' \(did you mean 'double'\?\)"):
        make().create("dubble")


def test_unknown_parameter_is_refused():
    with pytest.raises(UserError, match="takes no parameter 'fator'"):
        make().create("double", fator=3)


def test_duplicate_registration_is_an_error():
    registry = make()
    with pytest.raises(ValueError, match="twice"):
        registry.register("double", lambda: None)


def test_seed_entries_are_registered():
    assert {"baseline", "pixels"} <= set(MODELS.names())
    assert "pca32" in REDUCERS and "kmeans" in CLUSTERERS
