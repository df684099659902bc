"""neuralmon's model package: Pokédex facts, sprite data, the network, training and inference.

It knows nothing of Discord; the bot imports it, never the other way round.
"""

import importlib.metadata
import re


def extra_installing(package: str) -> str | None:
    """The extra (``pip install -e '.[extra]'``) that installs ``package``, the first that lists
    it, read from the project's installed metadata: pyproject.toml's lists, not a copy of them."""
    try:
        requirements = importlib.metadata.requires("neuralmon") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for requirement in requirements:
        name, _, marker = requirement.partition(";")
        extra = re.search(r'extra == "([^"]+)"', marker)
        if extra and re.match(r"[\w.-]+", name).group().lower() == package.lower():
            return extra.group(1)
    return None
