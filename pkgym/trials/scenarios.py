"""Phase I dose-finding scenarios: fixed true DLT probabilities and the trial's size rules.

:class:`DoseFindingScenario` lives in :mod:`pkgym.models.dose_toxicity` (the environments use
it too, and envs never import trials); it is re-exported here so existing imports still work.
"""

from __future__ import annotations

from pathlib import Path

from pkgym.models.dose_toxicity import DoseFindingScenario
from pkgym.scenarios import from_mapping, read_yaml

__all__ = ["DoseFindingScenario", "load_dose_finding_scenario"]


def load_dose_finding_scenario(path: str | Path) -> DoseFindingScenario:
    """Read a :class:`DoseFindingScenario` from a YAML mapping; unknown keys are errors.

    Args:
        path: YAML file whose keys are the fields of :class:`DoseFindingScenario`.

    Examples:
        >>> import tempfile, os, yaml
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = os.path.join(folder, "s.yaml")
        ...     text = yaml.safe_dump({"true_dlt_probabilities": [0.1, 0.3],
        ...                            "target_dlt_rate": 0.3})
        ...     _ = open(file, "w").write(text)
        ...     load_dose_finding_scenario(file).true_mtd
        1
    """
    data = read_yaml(path)
    return from_mapping(DoseFindingScenario, data, path=Path(path).name)
