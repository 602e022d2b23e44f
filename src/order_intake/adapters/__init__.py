"""Everything that touches a driver: the stores, the group-commit writer, migrations."""
