"""Each part's schema.py brings its own migrations; the composition root
lists them all, once each, in the order installed databases applied them."""

import inspect

from migration_history import LANDED, SET_NAME

import advocates.schema
import conversions.schema
import dashboard.schema
import shortener.schema
from shortener.app import LANDING_ORDER, migrations

PART_SCHEMAS = [shortener.schema, conversions.schema, advocates.schema, dashboard.schema]


def defined_migrations(module) -> set[str]:
    # a migration is a public function of the module, named mNNN_...
    return {
        name
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__ and name.startswith("m")
    }


def test_every_part_migration_is_listed_exactly_once():
    listed = [(module.__name__, name) for module, name in LANDING_ORDER]
    defined = [(m.__name__, name) for m in PART_SCHEMAS for name in defined_migrations(m)]
    assert sorted(listed) == sorted(defined)
    assert len(set(listed)) == len(listed)


def test_the_landing_order_is_history():
    assert [name for _, name in LANDING_ORDER] == LANDED


def test_the_set_keeps_its_installed_name_and_order():
    built = migrations()
    assert built.name == SET_NAME
    assert [m.name for m in built._migrations] == LANDED
