"""SourceOptions: the data options, checked when they are made, and their parsed form."""

import re

import pytest

from dcgan import DCGANError, SourceOptions
from dcgan.data.options import parse_where


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"resolution": 0}, "--resolution must be at least 1, not 0"),  # any size >= 1 decodes; see test_config
        ({"channels": 2}, "channels must be 1 or 3, not 2"),
        ({"limit": 0}, "--limit must be at least 1, not 0"),
        ({"where": "Smiling=2"}, "cannot read --where term 'Smiling=2'"),
        ({"where": "Smiling"}, "cannot read --where term 'Smiling'"),
    ],
    ids=["resolution-0", "channels-2", "limit-0", "where-Smiling=2", "where-Smiling"],
)
def test_bad_options_are_refused_when_made(values, message):
    with pytest.raises(DCGANError, match=re.escape(message)):
        SourceOptions(**values)


def test_to_dict_holds_the_parsed_conditions():
    options = SourceOptions(resolution=32, limit=7, where="Smiling=1, Male=-1,Eyeglasses=+1")
    assert options.to_dict() == {
        "resolution": 32,
        "channels": None,
        "limit": 7,
        "skip_bad": False,
        "where": {"Smiling": 1, "Male": -1, "Eyeglasses": 1},
        "split": None,
        "class_folder": "top",
        "held_out": False,
    }
    assert options.conditions == {"Smiling": 1, "Male": -1, "Eyeglasses": 1}
    assert SourceOptions().to_dict()["where"] == {} and SourceOptions(where={"Male": -1}).conditions == {"Male": -1}
    assert parse_where("Male=-1") == {"Male": -1} and SourceOptions.names() == list(SourceOptions().to_dict())
