"""The wheel's packages: found, so that a new package under supportdesk/ cannot be left out.

`[tool.setuptools.packages.find] include = ["supportdesk*"]` alone would drop
`supportdesk_data` (data/ under another name, see `package-dir` in pyproject.toml): find
only sees folders by their own names. Everything else is configured in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["supportdesk", "supportdesk.*"]), "supportdesk_data"])
