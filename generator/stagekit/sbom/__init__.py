"""What a release image holds, as a scanner sees it: Syft's inventory and a CycloneDX SBOM.

``inventory`` is the typed view of Syft's catalogue (components by type, the distribution);
``syft`` runs Syft on an image in the engine. Syft is an optional extra (``stagekit[sbom]``).
"""

from __future__ import annotations

from stagekit.sbom.inventory import Component, Inventory
from stagekit.sbom.syft import inventory, syft_path

__all__ = ["Component", "Inventory", "inventory", "syft_path"]
