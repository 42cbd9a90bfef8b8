"""``python -m accesoins``: same as the ``accesoins`` command."""

from accesoins.cli import app

app(prog_name="accesoins")
